"""The supervisor: brings the stack up, runs the fleet, carries out actions, brings it down.

Order up: state dir (and cleanup of a crashed earlier run), store, import of
the archived store, function, discovery, engines (in parallel). Order down:
engines get SIGTERM and flush to the still-running function (each within the
platform's grace, then SIGKILL), then discovery stops, the store is exported,
the function and store stop. Nothing else reaches into the supervisor: the
control API calls these methods.
"""
from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
import signal
import time
from pathlib import Path

import aiohttp

from .config import EmulatorConfig
from .events import EventBus
from .fleet import Slot, engine_env, initial_slots, rolling_order, scale_plan
from .pods import Pod, prepare_volume
from .processes import ChildFailed, child_env, start_child
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
                 poll_interval_s: float = 1.0, replace_crashed: bool = True):
        self.config, self.state_dir, self.fresh = config, Path(state_dir).resolve(), fresh
        self.poll_interval_s, self.replace_crashed = poll_interval_s, replace_crashed
        self.events = EventBus()
        self.pods: dict[str, Pod] = {}
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
        reap_previous_run(self.state_dir)
        secret = self.config.secret or self._kept_secret()
        self.services = Services(self.config, self.state_dir, secret)
        self.services.start_store()
        self.events.emit("service.started", "store", endpoint=self.services.s3_endpoint)
        await self.services.start_function()
        if self.fresh:
            await self.services.store.delete_prefix("")
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
        wipe = self.config.platform.recycle_volume == "empty"
        await asyncio.gather(*(self._start_pod(slot, 1, wipe=wipe) for slot in initial_slots(self.config)))
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
                "state_dir": str(self.state_dir),
                "children": [p.pid for p in self.pods.values() if p.pid]
                + ([s.discovery.pid] if s.discovery else [])}

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
        (self.state_dir / STATE_FILE).unlink(missing_ok=True)
        self.events.emit("emulator.stopped", "emulator")
        self.stopped.set()

    # ---- pods ------------------------------------------------------------
    async def _start_pod(self, slot: Slot, generation: int, *, wipe: bool = False) -> Pod:
        volume = self.state_dir / "volumes" / slot.name
        prepare_volume(volume, wipe=wipe)
        pod = Pod(slot, generation, volume, self.state_dir / "logs" / f"{slot.name}.log")
        self.pods[slot.name] = pod
        self.events.emit("engine.starting", slot.name, generation=generation)
        env = child_env(engine_env(self.config, slot, endpoint=self.services.function_endpoint,
                                   secret=self.services.secret,
                                   discovery_url=self.services.discovery_api))
        try:
            pod.child = await start_child(
                slot.name, ["engine", "--kind", slot.kind, "--data-dir", str(volume), "--port", "0"],
                env=env, log_path=pod.log_path)
        except ChildFailed as exc:
            pod.state = "failed"
            self.events.emit("engine.failed", slot.name, reason=str(exc))
            return pod
        pod.state = "running"
        self.events.emit("engine.started", slot.name, pid=pod.pid, port=pod.port,
                         instance_id=pod.child.ready.get("instance_id"), generation=generation)
        self._spawn(self._watch(pod))
        return pod

    async def _stop_pod(self, pod: Pod, event: str, *, kill: bool = False) -> None:
        if pod.child is None or not pod.child.running:
            return
        pod.expected_exit = True
        pod.state = "killed" if kill else "stopping"
        if not kill:
            self.events.emit("engine.stopping", pod.name)
        child = pod.child
        pod.exit_code = await (child.kill() if kill else child.stop(self.config.platform.stop_grace_s))
        pod.state = "killed" if kill else "stopped"
        self.events.emit(event, pod.name, exit_code=pod.exit_code)

    async def _watch(self, pod: Pod) -> None:
        code = await pod.child.wait()
        if pod.expected_exit or self._stopping:
            return
        pod.exit_code, pod.state = code, "crashed"
        self.events.emit("engine.crashed", pod.name, exit_code=code)
        if self.replace_crashed:  # the platform replaces a failed task with a new pod
            await asyncio.sleep(1.0)
            async with self._lock:
                if self.pods.get(pod.name) is pod and not self._stopping:
                    await self._replace(pod)

    async def _replace(self, pod: Pod) -> Pod:
        wipe = self.config.platform.recycle_volume == "empty"
        new = await self._start_pod(pod.slot, pod.generation + 1, wipe=wipe)
        self.events.emit("engine.recycled", pod.name, generation=new.generation,
                         volume="empty" if wipe else "kept", instance_id=new.instance_id)
        return new

    def _spawn(self, coro) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # ---- status polling ----------------------------------------------------
    async def _poll_forever(self) -> None:
        while True:
            await asyncio.gather(*(self._poll(p) for p in list(self.pods.values())
                                   if p.state == "running"), return_exceptions=True)
            await asyncio.sleep(self.poll_interval_s)

    async def _poll(self, pod: Pod) -> None:
        try:
            async with self._session.get(f"http://127.0.0.1:{pod.port}/status") as resp:
                current = await resp.json()
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError):
            return
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
        return [p.slot for p in self.pods.values() if p.state not in ("stopped", "killed")]

    async def scale(self, kind: str, replicas: int) -> dict:
        self._kind(kind)
        if not isinstance(replicas, int) or isinstance(replicas, bool) or not 0 <= replicas <= 256:
            raise ActionError(f"replicas must be an integer from 0 to 256, got {replicas!r}")
        async with self._lock:
            start, stop = scale_plan(self.live_slots(), kind, replicas)
            await asyncio.gather(*(self._stop_pod(self.pods[s.name], "engine.stopped") for s in stop))
            for slot in stop:
                del self.pods[slot.name]
            await asyncio.gather(*(self._start_pod(s, 1) for s in start))
        self.events.emit("fleet.scaled", kind, replicas=replicas, started=[s.name for s in start],
                         stopped=[s.name for s in stop])
        return {"kind": kind, "replicas": replicas, "started": [s.name for s in start],
                "stopped": [s.name for s in stop]}

    async def recycle(self, name: str) -> dict:
        async with self._lock:
            pod = self.pod(name)
            await self._stop_pod(pod, "engine.stopped")
            new = await self._replace(pod)
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
        async with self._lock:
            pod = self.pod(name)
            if pod.child is None or not pod.child.running:
                raise ActionError(f"{name} is not running ({pod.state})", 409)
            await self._stop_pod(pod, "engine.killed", kill=True)
        return pod.to_json()

    async def restart(self, name: str) -> dict:
        """Start the slot again on the same volume (a container restart on its host)."""
        async with self._lock:
            pod = self.pod(name)
            await self._stop_pod(pod, "engine.stopped")
            new = await self._start_pod(pod.slot, pod.generation + 1, wipe=False)
        return new.to_json()


def reap_previous_run(state_dir: Path) -> None:
    """Kill what a previous, crashed `up` left running, so no port stays taken."""
    path = state_dir / STATE_FILE
    if not path.exists():
        return
    try:
        state = json.loads(path.read_text())
    except ValueError:
        path.unlink()
        return
    if _alive(state.get("pid")):
        raise ActionError(f"an emulator is already running from {state_dir} (pid {state['pid']}, "
                          f"control {state.get('control')}); stop it with `wkp-emu down`", 409)
    for pid in state.get("children", []):
        if _alive(pid) and _is_ours(pid):  # a reused pid may belong to someone else now
            os.kill(pid, signal.SIGKILL)
    path.unlink()


def _is_ours(pid: int) -> bool:
    import psutil
    try:
        return "emulator.cli" in " ".join(psutil.Process(pid).cmdline())
    except psutil.Error:
        return False


def _alive(pid) -> bool:
    if not isinstance(pid, int):
        return False
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True

