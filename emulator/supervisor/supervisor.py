"""The supervisor: brings the stack up, runs the fleet, carries out actions, brings it down.

Order up: state dir (and cleanup of a crashed earlier run), store, import of
the archived store, function, discovery, engines (in parallel). Order down:
engines get SIGTERM and flush to the still-running function (each within the
platform's grace, then SIGKILL), then discovery stops, the store is exported,
the function and store stop. Nothing else reaches into the supervisor: the
control API calls these methods. What the platform decides (replace a pod or
not, on which volume, whether the stack is healthy) is in policy.py; this
module only carries it out.
"""
from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
import shutil
import time
from pathlib import Path

import aiohttp

from .config import EmulatorConfig
from .events import EventBus
from .addresses import claim_port, free_port
from .backends import BackendError, PodBackend, PodSpec, make_backend
from .fleet import Slot, engine_env, initial_slots, rolling_order, scale_plan
from .pods import Pod, failures
from .previous_run import EmulatorRunning, reap_previous_run
from .policy import (CRASHED, FAILED, KILLED, STOPPED, PodExit, after_exit, health_status,
                     inherited_boot_failures, wipes_volume)
from .processes import ChildFailed, last_words
from .remote_faults import RemoteFaults
from .services import Services
from .status_events import status_events
from .store_archive import export_store, import_store

log = logging.getLogger("wkp.supervisor")
STATE_FILE = "emulator.json"


class ActionError(ValueError):
    """A control action that cannot be carried out; `status` is its HTTP status."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


class Supervisor:
    def __init__(self, config: EmulatorConfig, state_dir: Path, *, fresh: bool = False,
                 poll_interval_s: float = 1.0, backend: PodBackend | None = None):
        self.config, self.state_dir, self.fresh = config, Path(state_dir).resolve(), fresh
        # Where pods run: processes (default) or containers (docs/docker.md).
        self.backend = backend or make_backend(config.backend, self.state_dir,
                                               keep_volumes=config.platform.recycle_volume == "keep")
        self.poll_interval_s = poll_interval_s
        self.events = EventBus()
        self.pods: dict[str, Pod] = {}
        self.addresses: dict[str, int] = {}    # slot -> its stable port, chosen once
        self._generations: dict[str, int] = {}  # slot -> pods it has had
        self._replacing: dict[str, asyncio.Task] = {}  # slot -> pending replacement
        self.services: Services | None = None
        self.control_url = ""
        self.started_at = time.time()
        self._tasks: set[asyncio.Task] = set()
        self._session: aiohttp.ClientSession | None = None
        self._lock = asyncio.Lock()  # one fleet action at a time
        self._stopping = False
        self.stopped = asyncio.Event()
        self.remote_faults = RemoteFaults(self)

    # ---- lifecycle -------------------------------------------------------
    async def start(self) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        try:
            reap_previous_run(self.state_dir, STATE_FILE)
        except EmulatorRunning as exc:
            raise ActionError(str(exc), 409) from None
        try:
            await self.backend.prepare()  # docker: the engine image, built when missing
            reaped = await self.backend.reap()  # containers a crashed earlier run left
        except BackendError as exc:
            raise ActionError(str(exc), 503) from None
        if reaped:
            log.warning("removed %d containers/volumes left by an earlier run", reaped)
        secret = self.config.secret or self._kept_secret()
        self.services = Services(self.config, self.state_dir, secret, host=self.backend.host)
        self.services.start_store()
        self.events.emit("service.started", "store", endpoint=self.services.s3_endpoint)
        await self.services.start_function()
        if self.fresh:
            await self.services.store.delete_prefix("")
            self.forget_witnesses()  # they describe writes to a store that is gone
        elif not self.config.store_endpoint:
            n = await import_store(self.services.store, self.state_dir)
            log.info("imported %d objects from %s", n, self.state_dir / "store")
        self.events.emit("service.started", "function", endpoint=self.services.function_endpoint)
        await self.services.start_discovery()
        if self.services.discovery:
            self.events.emit("service.started", "discovery", api=self.services.discovery_api)
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5))
        # New pods, as after a cluster restart: on Fargate/Cloud Run their volumes are empty
        # and the engines restore from the store; with PVCs ("keep") the volumes stay.
        wipe = wipes_volume(self.config.platform, "up")
        await asyncio.gather(*(self._start_pod(slot, wipe=wipe) for slot in initial_slots(self.config)))
        self._spawn(self._poll_forever())

    def _kept_secret(self) -> str:
        path = self.state_dir / "secret"
        if path.exists():
            return path.read_text().strip()
        secret = secrets.token_urlsafe(32)
        path.write_text(secret)
        path.chmod(0o600)
        return secret

    def write_state_file(self, control_url: str) -> None:
        self.control_url = control_url
        (self.state_dir / STATE_FILE).write_text(json.dumps(self.describe(), indent=2))

    def describe(self) -> dict:
        s = self.services
        return {"pid": os.getpid(), "control": self.control_url,
                "function": s.function_endpoint, "secret": s.secret, "s3_endpoint": s.s3_endpoint,
                "bucket": self.config.bucket, "discovery": s.discovery_api,
                "state_dir": str(self.state_dir), "backend": self.backend.name,
                "children": [p.pid for p in self.pods.values() if p.pid and self.backend.tracks_pids]
                + ([s.discovery.pid] if s.discovery else [])}

    def service_states(self) -> dict[str, str]:
        s = self.services
        return {"store": "running", "function": "running",
                "discovery": "running" if s.discovery and s.discovery.running
                else ("disabled" if not self.config.discovery else "stopped")}

    def health(self) -> dict:
        """What /health, `up` and `exec` report: the policy's verdict and why."""
        services = self.service_states()
        engines = {p.name: p.state for p in self.pods.values()}
        return {"status": health_status(services, engines), "services": services,
                "engines": engines, "failures": failures(self.pods.values())}

    async def stop(self) -> None:
        if self._stopping:
            await self.stopped.wait()
            return
        self._stopping = True
        self.events.emit("emulator.stopping", "emulator")
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await asyncio.gather(*(self._stop_pod(p, "engine.stopped") for p in list(self.pods.values())),
                             return_exceptions=True)
        if self._session:
            await self._session.close()
        if self.services:
            if self.services.function and not self.config.store_endpoint:
                try:
                    n = await export_store(self.services.store, self.state_dir)
                    log.info("exported %d objects to %s", n, self.state_dir / "store")
                except Exception as exc:  # the previous archive is intact (temp + swap)
                    log.error("store export failed, previous archive kept: %s", exc)
            await self.services.stop()
        await self.backend.close()
        (self.state_dir / STATE_FILE).unlink(missing_ok=True)
        self.events.emit("emulator.stopped", "emulator")
        self.stopped.set()

    # ---- pods ------------------------------------------------------------
    def witness_dir(self, slot: Slot) -> Path:
        return self.state_dir / "witness" / slot.name

    def forget_witnesses(self) -> None:
        """Drop every slot's witness: after the store is emptied they would report nonsense."""
        shutil.rmtree(self.state_dir / "witness", ignore_errors=True)

    async def _start_pod(self, slot: Slot, *, wipe: bool, boot_failures: int = 0,
                         failure: str | None = None) -> Pod:
        volume = self.backend.volume(slot.name)
        generation = self._generations.get(slot.name, 0) + 1
        self._generations[slot.name] = generation
        log_path = self.state_dir / "logs" / f"{slot.name}.log"
        pod = Pod(slot, generation, volume, log_path, witness=self.witness_dir(slot), host=self.backend.host,
                  boot_failures=boot_failures, failure=failure)  # the last failure, while retried
        self.pods[slot.name] = pod
        wanted = self.addresses.get(slot.name)
        self.events.emit("engine.starting", slot.name, generation=generation, port=wanted,
                         volume="empty" if wipe else "kept")
        pod.address = await self._address(slot)
        env = engine_env(self.config, slot, endpoint=self.services.function_endpoint,
                         secret=self.services.secret, discovery_url=self.services.discovery_api,
                         witness_dir=str(pod.witness))
        for attempt in (1, 2):
            pod.log_offset = log_path.stat().st_size if log_path.exists() else 0
            spec = PodSpec(slot.name, slot.kind, generation, pod.address, env, pod.witness, log_path,
                           wipe=wipe and attempt == 1, stop_grace_s=self.config.platform.stop_grace_s)
            try:
                pod.child = await self.backend.start(spec)
                break
            except ChildFailed as exc:
                if attempt == 1 and "address already in use" in exc.output.lower():
                    taken = set(self.addresses.values())  # taken meanwhile: move
                    pod.address = self.addresses[slot.name] = free_port(taken)
                    continue
                self._boot_failed(pod, exc)
                return pod
        pod.state, pod.boot_failures, pod.failure = "running", 0, None
        self.events.emit("engine.started", slot.name, pid=pod.pid, port=pod.port,
                         instance_id=pod.child.ready.get("instance_id"), generation=generation,
                         boot=pod.child.ready.get("boot"),
                         moved_from=wanted if wanted not in (None, pod.port) else None)
        self._spawn(self._watch(pod))
        if self.control_url:  # keep the pid list current for the next `up`'s clean-up
            self.write_state_file(self.control_url)
        return pod

    async def _address(self, slot: Slot) -> int:
        """The slot's stable port (chosen when the slot is first created), once it is free."""
        kept = self.addresses.get(slot.name)
        others = {port for name, port in self.addresses.items() if name != slot.name}
        port = await claim_port(kept, others)
        if kept is not None and port != kept:
            log.warning("%s: port %d is taken; the slot moves to port %d", slot.name, kept, port)
        self.addresses[slot.name] = port
        return port

    def _boot_failed(self, pod: Pod, exc: ChildFailed) -> None:
        pod.state, pod.exit_code, pod.exit_cause = "failed", exc.exit_code, FAILED
        pod.failure = exc.output or str(exc)
        pod.boot_failures += 1
        self.events.emit("engine.failed", pod.name, exit_code=exc.exit_code, message=pod.failure,
                         reason=str(exc), retry_in_s=self._after_exit(pod, FAILED))

    async def _stop_pod(self, pod: Pod, event: str) -> None:
        """SIGTERM (and SIGKILL after the platform's grace): recycle, scale in, restart, down."""
        if pod.child is None or not pod.child.running:
            return
        pod.exit_cause, pod.state = STOPPED, "stopping"
        self.events.emit("engine.stopping", pod.name)
        pod.exit_code = await pod.child.stop(self.config.platform.stop_grace_s)
        pod.state = "stopped"
        self.events.emit(event, pod.name, exit_code=pod.exit_code)

    async def _watch(self, pod: Pod) -> None:
        code = await pod.child.wait()
        if pod.exit_cause is not None or self._stopping:
            return  # an action stopped or killed it and handles what follows
        pod.exit_code, pod.state, pod.exit_cause = code, "crashed", CRASHED
        pod.failure = last_words(pod.log_path, pod.log_offset)
        self.events.emit("engine.crashed", pod.name, exit_code=code, message=pod.failure,
                         replaced_in_s=self._after_exit(pod, CRASHED))

    def _after_exit(self, pod: Pod, cause: str) -> float | None:
        """Ask the platform's policy what follows an exit; schedule the replacement it wants.

        Returns the delay before the replacement (None: no replacement) for the event.
        The replacement task sleeps first, so the event is out before it starts.
        """
        decision = after_exit(PodExit(cause, pod.exit_code, pod.boot_failures), self.config.platform,
                              shutting_down=self._stopping)
        if decision.replace:
            self._cancel_replacement(pod.name)
            self._replacing[pod.name] = self._spawn(self._replace_later(pod, decision.delay_s,
                                                                        decision.wipe_volume))
            return decision.delay_s
        return None

    async def _replace_later(self, pod: Pod, delay_s: float, wipe: bool) -> None:
        try:
            await asyncio.sleep(delay_s)
            async with self._lock:
                if self.pods.get(pod.name) is pod and not self._stopping:
                    await self._replace(pod, wipe)
        finally:
            if self._replacing.get(pod.name) is asyncio.current_task():
                del self._replacing[pod.name]

    def _cancel_replacement(self, name: str) -> None:
        task = self._replacing.pop(name, None)
        if task is not None and task is not asyncio.current_task():
            task.cancel()

    async def _replace(self, pod: Pod, wipe: bool) -> Pod:
        retry = pod.state == "failed"
        inherited = inherited_boot_failures(PodExit(pod.exit_cause, pod.exit_code, pod.boot_failures))
        new = await self._start_pod(pod.slot, wipe=wipe, boot_failures=inherited,
                                    failure=pod.failure if retry else None)
        self.events.emit("engine.recycled", pod.name, generation=new.generation,
                         volume="empty" if wipe else "kept", instance_id=new.instance_id)
        return new

    def _spawn(self, coro) -> asyncio.Task:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # ---- status polling ----------------------------------------------------
    async def _poll_forever(self) -> None:
        while True:
            await asyncio.gather(*(self._poll(p) for p in list(self.pods.values())
                                   if p.state == "running"), return_exceptions=True)
            await asyncio.sleep(self.poll_interval_s)

    async def _poll(self, pod: Pod) -> None:
        try:
            async with self._session.get(f"{pod.url}/status") as resp:
                current = await resp.json()
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError):
            return
        if self.pods.get(pod.name) is not pod:
            return  # replaced while we asked: the answer may be the new pod's
        for kind, data in status_events(pod.status, current):
            self.events.emit(kind, pod.name, **data)
        pod.status = current

    # ---- actions (the control API calls these) -----------------------------
    def pod(self, name: str) -> Pod:
        if name not in self.pods:
            raise ActionError(f"unknown engine {name!r}; engines are {', '.join(sorted(self.pods)) or 'none'}", 404)
        return self.pods[name]

    def _kind(self, kind: str) -> None:
        from emulator.protocol.names import ENGINE_KINDS
        if kind not in ENGINE_KINDS:
            raise ActionError(f"unknown kind {kind!r}; kinds are {', '.join(ENGINE_KINDS)}", 404)

    def live_slots(self) -> list[Slot]:
        """Slots the fleet has: a crashed or killed pod's slot counts (it is being replaced)."""
        return [p.slot for p in self.pods.values() if p.state != "stopped"]

    async def scale(self, kind: str, replicas: int) -> dict:
        self._kind(kind)
        if not isinstance(replicas, int) or isinstance(replicas, bool) or not 0 <= replicas <= 256:
            raise ActionError(f"replicas must be an integer from 0 to 256, got {replicas!r}")
        async with self._lock:
            start, stop = scale_plan(self.live_slots(), kind, replicas)
            for slot in stop:
                self._cancel_replacement(slot.name)
            await asyncio.gather(*(self._stop_pod(self.pods[s.name], "engine.stopped") for s in stop))
            for slot in stop:
                del self.pods[slot.name]
            wipe = wipes_volume(self.config.platform, "scale")
            await asyncio.gather(*(self._start_pod(s, wipe=wipe) for s in start))
        self.events.emit("fleet.scaled", kind, replicas=replicas, started=[s.name for s in start],
                         stopped=[s.name for s in stop])
        return {"kind": kind, "replicas": replicas, "started": [s.name for s in start],
                "stopped": [s.name for s in stop]}

    async def recycle(self, name: str) -> dict:
        async with self._lock:
            pod = self.pod(name)
            self._cancel_replacement(name)
            pod.boot_failures = 0  # asked for by hand: no back-off carried over
            await self._stop_pod(pod, "engine.stopped")
            new = await self._replace(pod, wipes_volume(self.config.platform, "recycle"))
        return new.to_json()

    async def recycle_kind(self, kind: str, rolling: bool) -> list[dict]:
        self._kind(kind)
        names = [s.name for s in rolling_order(s for s in self.live_slots() if s.kind == kind)]
        if not names:
            raise ActionError(f"no running {kind} engines to recycle", 409)
        if rolling:  # one at a time: the next goes only when the last is back
            return [await self.recycle(n) for n in names]
        return list(await asyncio.gather(*(self.recycle(n) for n in names)))

    async def kill(self, name: str) -> dict:
        """SIGKILL, as a spot interruption or an OOM kill: no final flush; the service replaces it."""
        async with self._lock:
            pod = self.pod(name)
            if pod.child is None or not pod.child.running:
                raise ActionError(f"{name} is not running ({pod.state})", 409)
            pod.exit_cause, pod.state = KILLED, "killed"
            pod.exit_code = await pod.child.kill()
            self.events.emit("engine.killed", pod.name, exit_code=pod.exit_code,
                             replaced_in_s=self._after_exit(pod, KILLED))
        return pod.to_json()

    async def restart(self, name: str) -> dict:
        """Start the slot again on the same volume (a container restart on its host)."""
        async with self._lock:
            pod = self.pod(name)
            self._cancel_replacement(name)
            await self._stop_pod(pod, "engine.stopped")
            new = await self._start_pod(pod.slot, wipe=wipes_volume(self.config.platform, "restart"))
        return new.to_json()
