"""Container mode: the persistence sidecar (WEFTKIT_PERSIST_MODE=container).

Design. The seed's container mode keeps "a long-running weftkit/persistence
sidecar image" that "mediates between the engine and a central store". In the
emulator each engine starts its own sidecar process on loopback and stops it
when it exits; the sidecar IS a WKP-1 function (emulator.function, the same
code as `wkp-emu function`) writing straight to the central S3 store
(WEFTKIT_PERSIST_STORE_ENDPOINT / _BUCKET). Why this shape:

- The engine speaks the same WKP-1 contract in both modes, so the one engine
  machine (retries, 409, 413, shutdown budget) covers both; only the endpoint
  differs. That is what "every engine supports both modes" asks.
- Straight to S3, not relayed to a central function: a relay would add a hop
  and a second retry loop whose answers (202 then a later 409?) could not be
  passed back honestly. The store rules (chain heads, parts, idempotency,
  takeover claims) are the function's, reused, so both modes store the same
  object layout and either can restore what the other wrote.
- One sidecar per engine, bound to 127.0.0.1 with a per-pair random secret
  (unless WEFTKIT_PERSIST_SECRET is set): nothing else can push as this engine.
- Started and stopped with its engine: the engine's final flush goes through
  the sidecar before the engine stops it; if the engine is SIGKILLed, the
  sidecar sees its stdin (a pipe from the engine) close and exits too, so no
  orphan outlives its engine.

If WEFTKIT_PERSIST_ENDPOINT is set in container mode, the engine uses that
running sidecar/bridge instead of starting one (the Kubernetes pattern, where
the platform runs the sidecar container).

Stopping. The sidecar runs in a session of its own, so a Ctrl-C meant for the
engine cannot stop it before the engine's final flush has gone through it; the
engine stops it with SIGTERM afterwards (SIGKILL after STOP_GRACE_S). It
watches its stdin with the event loop, not with a thread blocked in a read: a
daemon thread holding stdin's buffer lock makes the interpreter abort at exit
(SIGABRT, "could not acquire lock for <_io.BufferedReader name='<stdin>'>").
"""
from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import sys
from dataclasses import dataclass
from typing import Callable

log = logging.getLogger("wkp.engine.sidecar")
READY_TIMEOUT_S = 30.0
STOP_GRACE_S = 5.0  # SIGTERM, then SIGKILL: loopback, nothing in flight after the final flush


class SidecarError(RuntimeError):
    pass


def exit_description(returncode: int) -> str:
    """'exit status 1' or 'killed by signal 6 (SIGABRT)', as asyncio reports a child."""
    if returncode >= 0:
        return f"exit status {returncode}"
    try:
        name = signal.Signals(-returncode).name
    except ValueError:
        name = "unknown"
    return f"killed by signal {-returncode} ({name})"


@dataclass
class Sidecar:
    process: asyncio.subprocess.Process
    endpoint: str
    port: int
    store: str
    bucket: str
    stopping: bool = False     # set before the engine stops it on purpose
    overran: bool = False      # it ignored SIGTERM for STOP_GRACE_S and was SIGKILLed
    reported: bool = False     # its end has been reported

    def describe(self) -> dict:
        return {"pid": self.process.pid, "endpoint": self.endpoint, "store": self.store,
                "bucket": self.bucket}

    @property
    def stopped_cleanly(self) -> bool:
        return self.process.returncode == 0 and not self.overran

    def ending(self) -> str:
        """How the process ended, for a log line, an alert and the ledger."""
        how = exit_description(self.process.returncode)
        if self.overran:
            return f"did not stop within {STOP_GRACE_S:g} s of SIGTERM, {how}"
        return how

    async def stop(self) -> None:
        self.stopping = True
        if self.process.returncode is None:
            try:
                self.process.terminate()
            except ProcessLookupError:
                pass  # it exited on its own just now; wait() collects its status
            try:
                await asyncio.wait_for(self.process.wait(), STOP_GRACE_S)
            except asyncio.TimeoutError:
                self.overran = True
                self.process.kill()
                await self.process.wait()


async def start_sidecar(*, store: str, bucket: str, secret: str, port: int = 0) -> Sidecar:
    """Start a sidecar (on `port`: a restarted one keeps its engine's endpoint)."""
    env = dict(os.environ, WKP_SIDECAR_SECRET=secret, WKP_SIDECAR_STORE=store,
               WKP_SIDECAR_BUCKET=bucket, WKP_SIDECAR_PORT=str(port))
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "engines_fake.sidecar", stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, env=env, start_new_session=True)
    try:
        line = await asyncio.wait_for(proc.stdout.readline(), READY_TIMEOUT_S)
        ready = json.loads(line)
    except (asyncio.TimeoutError, ValueError) as exc:
        if proc.returncode is None:
            proc.kill()
        code = await proc.wait()
        raise SidecarError(f"persistence sidecar did not start ({exit_description(code)}): "
                           f"{exc!r}") from None
    return Sidecar(proc, ready["endpoint"], ready["port"], store, bucket)


class SidecarContainer:
    """The engine's sidecar slot, kept as a pod keeps a sidecar container: one
    that dies on its own is reported and started again on the same port (so the
    engine's endpoint does not change), up to MAX_RESTARTS times. Every end of a
    sidecar goes to report(message, clean): the engine alerts, logs and writes
    it to its ledger."""

    MAX_RESTARTS = 3

    def __init__(self, *, store: str, bucket: str, secret: str,
                 report: Callable[[str, bool], None]):
        self.store, self.bucket, self.secret, self.report = store, bucket, secret, report
        self.current: Sidecar | None = None
        self.restarts = 0
        self._watch: asyncio.Task | None = None

    async def start(self) -> Sidecar:
        self.current = await start_sidecar(store=self.store, bucket=self.bucket, secret=self.secret)
        self._watch = asyncio.create_task(self._keep())
        return self.current

    async def _keep(self) -> None:
        while True:
            sidecar = self.current
            await sidecar.process.wait()
            if sidecar.stopping:
                return
            message = f"persistence sidecar (pid {sidecar.process.pid}) died: {sidecar.ending()}"
            sidecar.reported = True
            if self.restarts >= self.MAX_RESTARTS:
                return self.report(f"{message}; not restarted after {self.restarts} restarts", False)
            self.report(f"{message}; restarting it on port {sidecar.port}", False)
            try:
                self.current = await start_sidecar(store=self.store, bucket=self.bucket,
                                                   secret=self.secret, port=sidecar.port)
            except SidecarError as exc:
                return self.report(f"persistence sidecar could not be restarted: {exc}", False)
            self.restarts += 1
            log.warning("persistence sidecar restarted (pid %d) at %s", self.current.process.pid,
                        self.current.endpoint)

    async def stop(self) -> bool:
        """Stop the current sidecar; True if it stopped cleanly (exit status 0 on SIGTERM)."""
        if self._watch is not None:
            self._watch.cancel()
            await asyncio.gather(self._watch, return_exceptions=True)
        sidecar = self.current
        if sidecar is None:
            return True
        died_before = sidecar.process.returncode is not None and not sidecar.stopping
        await sidecar.stop()
        if died_before:  # dead and not restarted (or just died, unseen by the watch)
            if not sidecar.reported:
                self.report(f"persistence sidecar (pid {sidecar.process.pid}) had died: "
                            f"{sidecar.ending()}", False)
            return False
        clean = sidecar.stopped_cleanly
        self.report(f"persistence sidecar (pid {sidecar.process.pid}) stopped: {sidecar.ending()}",
                    clean)
        return clean


# ---------------------------------------------------------------- the sidecar process


async def _serve() -> int:
    from emulator.function.config import FunctionConfig  # the function, reused as is
    from emulator.function.runner import start_function

    config = FunctionConfig(secret=os.environ["WKP_SIDECAR_SECRET"],
                            s3_endpoint=os.environ["WKP_SIDECAR_STORE"],
                            bucket=os.environ.get("WKP_SIDECAR_BUCKET", "wkp-emu"))
    running = await start_function(config, "127.0.0.1", int(os.environ.get("WKP_SIDECAR_PORT", "0")))
    port = int(running.endpoint.rsplit(":", 1)[1])
    print(json.dumps({"endpoint": running.endpoint, "port": port, "pid": os.getpid()}), flush=True)
    loop, stop = asyncio.get_running_loop(), asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    unwatch = _watch_engine(loop, stop.set)
    try:
        await stop.wait()
    finally:
        unwatch()
        await running.stop()
    return 0


def _watch_engine(loop: asyncio.AbstractEventLoop, gone: Callable[[], None]) -> Callable[[], None]:
    """Call gone() at EOF on stdin (a pipe from the engine): the engine is gone,
    whatever killed it. The loop polls the descriptor and os.read() takes no
    lock, so nothing is left blocked on stdin when the interpreter exits."""
    fd = sys.stdin.fileno()

    def readable():
        try:  # readable: data or EOF, so this read does not block
            data = os.read(fd, 4096)
        except OSError:
            data = b""
        if not data:
            loop.remove_reader(fd)
            gone()

    try:
        loop.add_reader(fd, readable)
    except (PermissionError, ValueError):  # a file, not a pipe: there is no engine to watch
        return lambda: None
    return lambda: loop.remove_reader(fd)


def main() -> int:
    return asyncio.run(_serve())


if __name__ == "__main__":
    sys.exit(main())
