"""The engine process: volume + data API + the asyncio driver of EngineMachine.

The driver decides nothing about persistence. It turns the outside world into
machine events (writes, signals, timers, HTTP answers) and carries out the
machine's effects (EXECUTORS below: one small method per effect type). Events
raised while effects are being carried out are queued and handled afterwards,
in order, so the machine never sees a re-entrant call.
"""
from __future__ import annotations

import asyncio
import collections
import json
import logging
import os
import random
import signal
import sys
import time
import uuid
from pathlib import Path

from aiohttp import web

from emulator.protocol.engine_config import EngineConfig
from emulator.protocol.engine_events import (
    Alert, Booted, Buffer, Compact, Cut, Exit, Health, Ledger, Log, PayloadBuilt, PayloadFailed,
    Push, Release, Restore, Restored, Save, Serve, Sigterm, StopWrites, Tick, TimerFired,
    WaitUntil, Wrote)
from emulator.protocol.engine_machine import EngineMachine

from . import membership, workload
from .api import WriteRefused, create_app
from .kinds import profile
from .payloads import delta_payload, full_payload, read_range, write_payload
from .sidecar import SidecarContainer
from .transport import RestoreResult, Transport
from .volume import Volume
from .witness import Witness

log = logging.getLogger("wkp.engine")
EXIT_BAD_VOLUME = 5
EXIT_SIDECAR_UNCLEAN = 7  # every write acknowledged, but the sidecar did not stop cleanly


class Engine:
    def __init__(self, *, kind: str, data_dir: Path, config: EngineConfig, host: str = "127.0.0.1",
                 port: int = 0, env: dict | None = None, clock=time.time):
        self.kind, self.config, self.host, self.port = kind, config, host, port
        self.env, self.clock = dict(env or {}), clock
        self.profile = profile(kind)
        self.volume = Volume(Path(data_dir), kind)
        self.machine = EngineMachine(config, random.Random())
        self.witness = Witness(Path(config.witness_dir)) if config.witness_dir else None
        self.instance_id = ""
        self.endpoint: str | None = None
        self.sidecar: SidecarContainer | None = None
        self.sidecar_clean = True  # the last sidecar stopped with exit status 0
        self.transport: Transport | None = None
        self.recovery: dict = {}
        self.clock_skew_s = 0.0  # the clock fault: shifts the timestamps the engine signs
        self.accepting = self.serving = False
        self.alerts = collections.deque(maxlen=20)
        self._queue: collections.deque = collections.deque()
        self._draining = False
        self._tasks: set[asyncio.Task] = set()
        self._timer: asyncio.TimerHandle | None = None
        self._exit: asyncio.Future | None = None
        self._runner: web.AppRunner | None = None
        self._syncer = self._joining = self._leaving = None
        self._membership = None
        self._workload: asyncio.Task | None = None
        self._generated = False

    # ------------------------------------------------------------ lifecycle

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        self._exit = loop.create_future()
        try:
            self.volume.open()
        except (ValueError, OSError) as exc:
            print(f"wkp-emu engine: cannot open volume {self.volume.root}: {exc}", file=sys.stderr)
            return EXIT_BAD_VOLUME
        self.instance_id, self._generated = self.volume.instance_id(
            self.config.instance_id, lambda: str(uuid.uuid4()))
        try:
            await self._start_api()
            await self._connect()
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, lambda: self.feed(Sigterm(self.clock())))
            self._syncer = asyncio.create_task(self._sync_wal())
            persisted = self.volume.load_state()
            durable = persisted.durable.seq if persisted.durable else 0
            self.feed(Booted(self.clock(), self.volume.empty, self.volume.lsn, persisted,
                             self.volume.unpushed_bytes(durable)))
            code = await self._exit
        finally:
            await self._shutdown()
        if code == 0 and not self.sidecar_clean:
            print(f"wkp-emu engine: exit {EXIT_SIDECAR_UNCLEAN}: every write was acknowledged, "
                  "but the persistence sidecar did not stop cleanly", file=sys.stderr, flush=True)
            return EXIT_SIDECAR_UNCLEAN
        return code

    async def _start_api(self) -> None:
        self._runner = web.AppRunner(create_app(self), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]

    async def _connect(self) -> None:
        cfg = self.config
        if not cfg.persists:
            return
        secret = cfg.secret
        self.endpoint = cfg.endpoint
        if cfg.mode == "container" and not cfg.endpoint:
            secret = secret or uuid.uuid4().hex
            self.sidecar = SidecarContainer(store=cfg.store_endpoint, bucket=cfg.store_bucket,
                                            secret=secret, report=self._sidecar_report)
            self.endpoint = (await self.sidecar.start()).endpoint
        self.transport = Transport(endpoint=self.endpoint, secret=secret, engine=self.kind,
                                   tenant=cfg.tenant, instance_id=self.instance_id,
                                   strategy=cfg.strategy, encoding=cfg.compression, clock=self.clock,
                                   signing_clock=lambda: self.clock() + self.clock_skew_s)
        await self.transport.start()

    async def _shutdown(self) -> None:
        if self._timer:
            self._timer.cancel()
        self._stop_workload()
        background = [t for t in (self._syncer, self._joining) if t is not None]
        for task in background:
            task.cancel()
        await asyncio.gather(*background, return_exceptions=True)
        if self._leaving is not None:  # a leave started at SIGTERM is let finish
            await asyncio.gather(self._leaving, return_exceptions=True)
        await self._leave()  # in case the engine stops without SIGTERM
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.transport:
            await self.transport.close()
        if self.sidecar:  # after the final flush, which went through it
            self.sidecar_clean = await self.sidecar.stop()
        if self._runner:
            await self._runner.cleanup()
        self.volume.close()
        if self.witness:
            self.witness.close()

    async def _sync_wal(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            self.volume.sync()

    # ------------------------------------------------------------ events in

    def feed(self, event) -> None:
        self._queue.append(event)
        if self._draining:
            return
        self._draining = True
        try:
            while self._queue:
                for effect in self.machine.handle(self._queue.popleft()):
                    self._execute(effect)
        finally:
            self._draining = False

    def _execute(self, effect) -> None:
        try:
            EXECUTORS[type(effect)](self, effect)
        except OSError as exc:  # the volume failed under us: crash loudly, like a real engine
            log.exception("cannot carry out %s", type(effect).__name__)
            self._exit_now(Exit(1, f"volume I/O failed during {type(effect).__name__}: {exc}"))

    def write(self, key: str, value: bytes | None) -> int:
        if not self.accepting:
            raise WriteRefused(503, "shutting down" if self.serving else "not serving yet (restoring)")
        if value is not None:
            problem = self.profile.validate(value)
            if problem:
                raise WriteRefused(400, f"{self.kind}: {problem}")
        lsn, nbytes = self.volume.append(key, value)
        if self.witness:
            self.witness.note_write(lsn, key, value)
        self.feed(Wrote(self.clock(), lsn, nbytes))
        return lsn

    def push_now(self) -> None:
        if not self.config.persists:
            raise WriteRefused(409, "persistence is disabled (WEFTKIT_PERSIST_MODE=disabled)")
        if not self.accepting:
            raise WriteRefused(503, "not serving")
        self.feed(Tick(self.clock(), "manual"))

    def _spawn(self, coro) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def status(self) -> dict:
        cfg = self.config
        return {"kind": self.kind, "instance_id": self.instance_id,
                "instance_id_generated": self._generated, "mode": cfg.mode,
                "tenant": cfg.tenant, "strategy": cfg.strategy, "compression": cfg.compression.value,
                "schedule": str(cfg.schedule), "endpoint": self.endpoint,
                "sidecar": self._sidecar_status(), "port": self.port, "pid": os.getpid(),
                "data_dir": str(self.volume.root),
                "records": len(self.volume.records), "accepting": self.accepting,
                **self.machine.status(), "lsn": self.volume.lsn,
                "recent_alerts": list(self.alerts), "recovery": self.recovery,
                "discovery": self._discovery_status(), "clock_skew_s": self.clock_skew_s}

    def _sidecar_status(self) -> dict | None:
        if self.sidecar is None or self.sidecar.current is None:
            return None
        return {**self.sidecar.current.describe(), "restarts": self.sidecar.restarts}

    def _sidecar_report(self, message: str, clean: bool) -> None:
        """A sidecar ended. A clean stop is logged; anything else is an alert in
        /status, a line on stderr naming its exit status or signal, and a ledger
        entry, because after the engine is gone only those remain."""
        self.volume.append_ledger({"event": "sidecar", "at": self.clock(), "clean": clean,
                                   "message": message})
        if clean:
            log.info("%s", message)
            return
        self._alert(Alert("sidecar", message))
        print(f"wkp-emu engine: {message}", file=sys.stderr, flush=True)

    def _discovery_status(self) -> dict | None:
        presence = self._membership
        if presence is None:
            return None
        return {"node_id": presence.registration.node_id, "registered": presence.registered,
                "host": presence.host, "url": presence.client.url}

    # ------------------------------------------------------------ effects out

    def _serve(self, e: Serve) -> None:
        self.serving = self.accepting = True
        self.recovery = {"boot": e.boot, "cursor": str(e.cursor) if e.cursor else None,
                         "lineage": e.lineage, "lsn": self.volume.lsn,
                         "records": len(self.volume.records), "at": self.clock()}
        if self.witness:
            self.recovery.update(self.witness.reconcile(self.volume.records, self.volume.lsn,
                                                        boot=e.boot, instance_id=self.instance_id))
        self.volume.write_json("recovery.json", self.recovery)
        self.volume.append_ledger({"event": "boot", "at": self.clock(), "how": e.boot,
                                   "instance_id": self.instance_id, "lsn": self.volume.lsn,
                                   "cursor": self.recovery["cursor"], "lineage": e.lineage})
        log.info("serving (%s) %s engine %s on port %d", e.boot, self.kind, self.instance_id, self.port)
        ready = {"kind": self.kind, "instance_id": self.instance_id, "port": self.port,
                 "pid": os.getpid(), "mode": self.config.mode, "boot": e.boot,
                 "cursor": self.recovery["cursor"], "lsn": self.volume.lsn,
                 "data_dir": str(self.volume.root), "endpoint": self.endpoint,
                 "sidecar": self._sidecar_status()}
        print(json.dumps(ready), flush=True)
        self._workload = workload.start(self)
        self._joining = asyncio.create_task(self._join(ready))

    async def _join(self, ready: dict) -> None:
        self._membership = await membership.join(self.env, ready)

    async def _leave(self) -> None:
        presence, self._membership = self._membership, None
        await membership.leave(presence)

    def _restore(self, e: Restore) -> None:
        async def run():
            result = await self.transport.restore(e.token, kind=self.kind, takeover=e.takeover,
                                                  timeout_s=e.timeout_s)
            self.feed(self._install(e.token, result) if isinstance(result, RestoreResult) else result)
        self._spawn(run())

    def _install(self, token: int, result: RestoreResult) -> Restored:
        """Swap the verified state in; a non-empty volume's own records (no cursor
        was recorded for them) are re-applied on top as new writes."""
        local = self.volume.records.items() if not self.volume.empty else []
        h = result.header
        self.volume.install(result.intake.records, h.cursor.seq, h.cursor.epoch)
        for rec in local:
            self.volume.append(rec.key, rec.value)
        if local:
            log.warning("restored %s and re-applied %d local records on top", h.cursor, len(local))
        return Restored(token, self.clock(), h.cursor, self.volume.lsn, lineage=h.lineage,
                        deltas=h.deltas, records=len(result.intake.records), size=result.intake.size)

    def _health(self, e: Health) -> None:
        async def run():
            self.feed(await self.transport.health(e.token, e.timeout_s))
        self._spawn(run())

    def _cut(self, e: Cut) -> None:
        path = self.volume.payload_path(e.token)
        if e.kind == "full":
            frames = full_payload(self.kind, e.cursor_to.epoch, e.cursor_to.seq, self.volume.records.items())
        else:
            records = self.volume.wal_frames(e.cursor_from.seq, e.cursor_to.seq)
            if records is None:
                return self.feed(PayloadFailed(e.token, self.clock(), "WAL no longer holds the range",
                                               wal_missing=True))
            frames = delta_payload(e.cursor_from.seq, e.cursor_to.seq, records)

        async def run():
            try:
                size = await asyncio.to_thread(write_payload, path, frames, self.config.compression)
            except OSError as exc:
                return self.feed(PayloadFailed(e.token, self.clock(), str(exc)))
            self.feed(PayloadBuilt(e.token, self.clock(), size))
        self._spawn(run())

    def _push(self, e: Push) -> None:
        async def run():
            try:
                body = await asyncio.to_thread(read_range, self.volume.payload_path(e.token),
                                               e.offset, e.length)
            except OSError as exc:
                return self.feed(PayloadFailed(e.token, self.clock(), str(exc)))
            self.feed(await self.transport.push(e, body))
        self._spawn(run())

    def _release(self, e: Release) -> None:
        self.volume.payload_path(e.token).unlink(missing_ok=True)

    def _buffer(self, e: Buffer) -> None:
        log.warning("buffered payload %d (%d bytes) on scratch until the next tick", e.token, e.size)

    def _save(self, e: Save) -> None:
        self.volume.save_state(e.state)

    def _ledger(self, e: Ledger) -> None:
        self.volume.append_ledger({"event": e.event, **e.fields})
        if e.event == "ack" and self.witness:
            self.witness.note_ack(e.fields["lsn_to"], e.fields.get("bytes"), e.fields.get("kind"))

    def _compact(self, e: Compact) -> None:
        self.volume.compact(e.retain_after)

    def _stop_writes(self, e: StopWrites) -> None:
        self.accepting = False
        self._stop_workload()
        # out of the fleet first, so nothing routes writes to an engine that refuses them
        self._leaving = asyncio.create_task(self._leave())

    def _stop_workload(self) -> None:
        if self._workload is not None:
            self._workload.cancel()
            self._workload = None

    @property
    def workload_running(self) -> bool:
        """Whether the write generator runs now."""
        return self._workload is not None and not self._workload.done()

    def restart_workload(self) -> None:
        """The write generator again, with the engine's current workload settings (a
        stopping engine keeps the settings and generates nothing)."""
        self._stop_workload()
        if self.accepting:
            self._workload = workload.start(self)

    def _wait_until(self, e: WaitUntil) -> None:
        if self._timer:
            self._timer.cancel()
        loop = asyncio.get_running_loop()

        def fire():
            now = self.clock()
            if now < e.deadline - 0.002:  # the loop's clock ran ahead of the wall clock
                self._timer = loop.call_later(e.deadline - now, fire)
                return
            self.feed(TimerFired(max(now, e.deadline)))
        self._timer = loop.call_later(max(0.0, e.deadline - self.clock()), fire)

    def _log(self, e: Log) -> None:
        log.log(logging.getLevelName(e.level.upper()), "%s", e.message)

    def _alert(self, e: Alert) -> None:
        self.alerts.append({"at": self.clock(), "kind": e.kind, "message": e.message})
        log.error("ALERT %s: %s", e.kind, e.message)

    def _exit_now(self, e: Exit) -> None:
        (log.info if e.code == 0 else log.error)("exit %d: %s", e.code, e.reason)
        if e.code != 0:
            print(f"wkp-emu engine: {e.reason}", file=sys.stderr, flush=True)
        self.accepting = False
        if self._exit is not None and not self._exit.done():
            self._exit.set_result(e.code)


EXECUTORS = {
    Serve: Engine._serve, Restore: Engine._restore, Health: Engine._health, Cut: Engine._cut,
    Push: Engine._push, Release: Engine._release, Buffer: Engine._buffer, Save: Engine._save,
    Ledger: Engine._ledger, Compact: Engine._compact, StopWrites: Engine._stop_writes,
    WaitUntil: Engine._wait_until, Log: Engine._log, Alert: Engine._alert, Exit: Engine._exit_now,
}
