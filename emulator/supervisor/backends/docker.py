"""The docker backend: each engine pod is a container of wkp-emu/engine on a real dockerd.

How the platform's notions map onto docker (docs/docker.md):

- host networking: the engine serves on 127.0.0.1:PORT in the host's network
  namespace, and reaches the function, the store and discovery on loopback, so
  all traffic stays on loopback and the slot's stable port works as before;
- the volume is a named docker volume per slot mounted at /var/lib/wkp-emu;
  `recycle_volume = "empty"` removes and recreates it for every new pod
  (Fargate ephemeral storage), `keep` reuses it (a PVC) and `down` keeps it;
- the witness directory STATE_DIR/witness/SLOT is bind-mounted at the same
  path, so it is written outside the volume, on the host, as with processes;
- stop: SIGTERM, then SIGKILL after the grace (the container's StopTimeout is
  the same, so a `docker stop` by hand behaves alike); kill: SIGKILL;
- the container runs under docker's init (tini) so signals reach the engine,
  and as the caller's uid:gid, so the witness and logs stay the caller's;
- labels `wkp-emu.state-dir`, `wkp-emu.slot`, `wkp-emu.generation` on every
  container and volume: `reap()` removes what a supervisor killed with SIGKILL
  left, `close()` what `down` must not leave. A container goes with its
  anonymous volumes (`v`): the engine image declares none, but an image named
  by WKP_EMU_ENGINE_IMAGE might, and those would otherwise pile up.

The engine's stdout and stderr are copied to the slot's log file by a thread
per pod that follows the container's output (demultiplexed, so the first
stdout line is the ready line). When the container exits the thread takes its
exit status and removes it: the log file already holds its output.
"""
from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import signal
import sys
import threading
import time
from pathlib import Path

from ..processes import ChildFailed, last_words
from . import BackendError, PodSpec

log = logging.getLogger("wkp.supervisor.docker")
LABEL_STATE_DIR = "wkp-emu.state-dir"
LABEL_SLOT = "wkp-emu.slot"
LABEL_GENERATION = "wkp-emu.generation"
DATA_DIR = "/var/lib/wkp-emu"   # world-writable in the image, so a new volume is too
HOST = "127.0.0.1"
IMAGE_ENV = "WKP_EMU_ENGINE_IMAGE"


def exit_status(code: int) -> int:
    """Docker reports a container killed by signal N as 128+N; processes report -N."""
    if code > 128:
        with contextlib.suppress(ValueError):
            return -signal.Signals(code - 128).value
    return code


def resource_prefix(state_dir: Path) -> str:
    """Names of this state dir's containers and volumes: two `up`s in two dirs never meet."""
    return "wkp-emu-" + hashlib.sha256(str(state_dir).encode()).hexdigest()[:10]


class DockerPod:
    """One engine container: the same handle a process pod gives (processes.Child)."""

    def __init__(self, api, container_id: str, name: str, log_path: Path, loop):
        self.api, self.id, self.name, self.log_path = api, container_id, name, log_path
        self.ready: dict = {}
        self.pid: int | None = None
        self._loop = loop
        self._ready: asyncio.Future = loop.create_future()
        self._exit: asyncio.Future = loop.create_future()
        self._thread = threading.Thread(target=self._follow, name=f"docker-{name}", daemon=True)

    @property
    def running(self) -> bool:
        return not self._exit.done()

    def _settle(self, future: asyncio.Future, value) -> None:
        def set_it():
            if not future.done():
                future.set_result(value)
        try:
            self._loop.call_soon_threadsafe(set_it)
        except RuntimeError:  # the supervisor's loop is gone (it exited): nobody waits any more
            pass

    def _follow(self) -> None:
        """Copy the container's output to the log (the first stdout line is the ready line),
        then take its exit status and remove it.

        A client of its own: the attach holds its connection for the pod's whole life,
        which must not starve the shared client's pool when the fleet is large."""
        import docker
        pending, ready_seen, code = b"", False, -1
        own = None
        try:
            own = docker.from_env()
            stream = own.api.attach(self.id, stdout=True, stderr=True, stream=True, logs=True, demux=True)
            with self.log_path.open("ab") as out:
                for stdout, stderr in stream:
                    if stdout and not ready_seen:
                        pending += stdout
                        stdout = b""
                        if b"\n" in pending:
                            line, _, stdout = pending.partition(b"\n")
                            ready_seen = True
                            self._settle(self._ready, line)
                    if stdout:
                        out.write(stdout)
                    if stderr:
                        out.write(stderr)
                    out.flush()
                if pending and not ready_seen:  # it ended mid-line: keep what it said
                    out.write(pending)
        except Exception as exc:  # the daemon went away: the wait below says how it ended
            log.warning("%s: following its output failed: %s", self.name, exc)
        self._settle(self._ready, None)  # no-op once the ready line came
        api = own.api if own is not None else self.api
        try:
            code = exit_status(api.wait(self.id).get("StatusCode", -1))
        except Exception as exc:
            log.warning("%s: waiting for it failed: %s", self.name, exc)
        with contextlib.suppress(Exception):
            api.remove_container(self.id, force=True, v=True)  # v: and any anonymous volume it had
        if own is not None:
            own.close()
        self._settle(self._exit, code)

    async def start(self, timeout_s: float) -> "DockerPod":
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        await asyncio.to_thread(self.api.start, self.id)
        self._thread.start()
        try:
            line = await asyncio.wait_for(asyncio.shield(self._ready), timeout_s)
        except asyncio.TimeoutError:
            code = await self.kill()
            raise ChildFailed(f"{self.name} was not ready within {timeout_s:.0f}s; see {self.log_path}",
                              exit_code=code, output=last_words(self.log_path, offset)) from None
        if line is None:
            code = await self.wait()
            words = last_words(self.log_path, offset)
            raise ChildFailed(f"{self.name} exited with {code} before it was ready: {words}",
                              exit_code=code, output=words)
        import json
        try:
            self.ready = json.loads(line)
        except ValueError:
            await self.kill()
            raise ChildFailed(f"{self.name} printed {line[:200]!r} instead of its JSON ready line") from None
        with contextlib.suppress(Exception):
            self.pid = (await asyncio.to_thread(self.api.inspect_container, self.id))["State"]["Pid"] or None
        return self

    async def wait(self) -> int:
        return await asyncio.shield(self._exit)

    async def _signal(self, sig: str) -> None:
        import docker
        try:
            await asyncio.to_thread(self.api.kill, self.id, sig)
        except docker.errors.APIError as exc:  # gone or not running any more: nothing to signal
            if self.running and exc.status_code not in (404, 409):
                raise

    async def stop(self, grace_s: float) -> int:
        """SIGTERM, then SIGKILL after `grace_s`: what docker stop -t does, with a float grace."""
        if self.running:
            await self._signal("SIGTERM")
        try:
            return await asyncio.wait_for(self.wait(), grace_s)
        except asyncio.TimeoutError:
            return await self.kill()

    async def kill(self) -> int:
        if self.running:
            await self._signal("SIGKILL")
        return await self.wait()


class DockerBackend:
    name = "docker"
    host = HOST
    tracks_pids = False  # containers are found again by their labels, not by pid

    def __init__(self, state_dir: Path, *, keep_volumes: bool, progress=None, client=None):
        self.state_dir = Path(state_dir).resolve()
        self.keep_volumes = keep_volumes
        self.prefix = resource_prefix(self.state_dir)
        self.image: str | None = None
        self._client = client
        self._progress = progress or (lambda msg: print(f"wkp-emu: {msg}", file=sys.stderr, flush=True))
        self._pods: set[DockerPod] = set()

    @property
    def client(self):
        if self._client is None:
            from emulator.containers.image import ImageError, docker_client
            try:
                self._client = docker_client()
            except ImageError as exc:
                raise BackendError(f"the docker backend: {exc}") from None
        return self._client

    def labels(self, **more: str) -> dict[str, str]:
        return {LABEL_STATE_DIR: str(self.state_dir), **more}

    async def prepare(self) -> None:
        """The engine image (built when missing or stale, saying so and how long it took).

        WKP_EMU_ENGINE_IMAGE names an image to use as it is (no build, no staleness check):
        a suite that built the image once keeps using it while the source is edited."""
        from emulator.containers.image import ImageError, build_image
        pinned = os.environ.get(IMAGE_ENV)
        if pinned:
            import docker
            try:
                await asyncio.to_thread(self.client.images.get, pinned)
            except docker.errors.ImageNotFound:
                raise BackendError(f"{IMAGE_ENV}={pinned}: no such image (wkp-emu image build makes "
                                   f"wkp-emu/engine:<version>)") from None
            self.image = pinned
            return
        t0 = time.monotonic()
        try:
            report = await asyncio.to_thread(build_image, self.client, progress=self._progress)
        except ImageError as exc:
            raise BackendError(f"the engine image: {exc}") from None
        if report.built:
            self._progress(f"built the engine image {report.tag} in {time.monotonic() - t0:.1f}s")
        self.image = report.tag

    def volume(self, slot_name: str) -> str:
        return f"{self.prefix}-{slot_name}"

    def _fresh_volume(self, slot_name: str, wipe: bool) -> str:
        import docker
        name = self.volume(slot_name)
        try:
            existing = self.client.volumes.get(name)
        except docker.errors.NotFound:
            existing = None
        if existing is not None and wipe:
            existing.remove(force=True)
            existing = None
        if existing is None:
            self.client.volumes.create(name, labels=self.labels(**{LABEL_SLOT: slot_name}))
        return name

    def _create(self, spec: PodSpec) -> str:
        import docker
        volume = self._fresh_volume(spec.name, spec.wipe)
        spec.witness_dir.mkdir(parents=True, exist_ok=True)
        spec.log_path.parent.mkdir(parents=True, exist_ok=True)
        name = f"{self.prefix}-{spec.name}-g{spec.generation}"
        api = self.client.api
        binds = {volume: {"bind": DATA_DIR, "mode": "rw"},
                 str(spec.witness_dir): {"bind": str(spec.witness_dir), "mode": "rw"}}

        def create() -> str:
            return api.create_container(
                self.image, name=name,
                command=["engine", "--kind", spec.kind, "--data-dir", DATA_DIR, "--host", self.host,
                         "--port", str(spec.port)],
                environment=dict(spec.env), user=f"{os.getuid()}:{os.getgid()}",
                stop_signal="SIGTERM", stop_timeout=max(1, round(spec.stop_grace_s)),
                labels=self.labels(**{LABEL_SLOT: spec.name, LABEL_GENERATION: str(spec.generation),
                                      **spec.labels}),
                volumes=[DATA_DIR, str(spec.witness_dir)],
                host_config=api.create_host_config(network_mode="host", init=True, binds=binds))["Id"]
        try:
            return create()
        except docker.errors.APIError as exc:
            if exc.status_code != 409:  # 409: a leftover of the same name (a crashed run)
                raise
            api.remove_container(name, force=True, v=True)
            return create()

    async def start(self, spec: PodSpec, timeout_s: float = 60.0) -> DockerPod:
        import docker
        if self.image is None:
            await self.prepare()
        try:
            container_id = await asyncio.to_thread(self._create, spec)
        except docker.errors.APIError as exc:
            raise ChildFailed(f"{spec.name}: docker refused the container: {exc.explanation or exc}",
                              output=str(exc.explanation or exc)) from None
        pod = DockerPod(self.client.api, container_id, spec.name, spec.log_path, asyncio.get_running_loop())
        self._pods.add(pod)
        pod._exit.add_done_callback(lambda _: self._pods.discard(pod))
        return await pod.start(timeout_s)

    def leftovers(self) -> tuple[list, list]:
        """(containers, volumes) labelled with this state dir."""
        selector = {"label": f"{LABEL_STATE_DIR}={self.state_dir}"}
        return (self.client.containers.list(all=True, filters=selector),
                self.client.volumes.list(filters=selector))

    def _remove(self, *, volumes: bool) -> int:
        containers, vols = self.leftovers()
        for c in containers:
            with contextlib.suppress(Exception):
                c.remove(force=True, v=True)
        removed = len(containers)
        if volumes:
            for v in vols:
                with contextlib.suppress(Exception):
                    v.remove(force=True)
                    removed += 1
        return removed

    async def reap(self) -> int:
        """Containers a supervisor killed with SIGKILL left running (and their volumes,
        unless volumes are kept): removed before this run starts its own."""
        return await asyncio.to_thread(self._remove, volumes=not self.keep_volumes)

    async def close(self) -> None:
        """After every pod stopped: nothing of this state dir survives `down` but kept volumes."""
        if self._client is None:
            return  # the daemon was never reached: nothing of ours can be there
        await asyncio.gather(*(p.kill() for p in list(self._pods)), return_exceptions=True)
        try:
            await asyncio.to_thread(self._remove, volumes=not self.keep_volumes)
        except Exception as exc:  # the daemon went away meanwhile: the next `up` reaps
            log.error("removing this run's containers failed (the next up removes them): %s", exc)
