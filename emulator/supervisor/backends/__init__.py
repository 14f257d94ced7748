"""Pod backends: where an engine pod runs (a process, or a container on a real dockerd).

The supervisor decides *what* happens to pods (policy.py); a backend only
carries it out, through one interface:

- `start(spec)` - prepare the pod's volume (fresh or kept), start the engine,
  wait for its JSON ready line; a `PodHandle` comes back, or `ChildFailed` with
  the exit status and the engine's own last words;
- on the handle: `ready` (the ready line), `running`, `pid`, `log_path` (the
  slot's log, both backends write the engine's stdout and stderr there),
  `wait()`, `stop(grace_s)` (SIGTERM, SIGKILL after the grace), `kill()`
  (SIGKILL);
- `host` - the advertised address: where the supervisor reaches engines
  (status polling, admin calls, engine faults) and where the services the
  engines call (function, store, discovery) listen;
- `reap()` - remove what a crashed earlier run of the same state dir left
  behind; `close()` - after `down`: remove whatever must not survive it.

Exit statuses are the engine's; a pod ended by a signal reports minus the
signal number in both backends (-9 for SIGKILL), as asyncio reports a child.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Protocol

BACKENDS = ("process", "docker")


class BackendError(RuntimeError):
    """The backend cannot run pods here (no docker daemon, no image): the message says why."""


@dataclass(frozen=True)
class PodSpec:
    """One pod to start: which slot, how its engine is configured, where its files go."""
    name: str                    # the slot's name, vector-2
    kind: str
    generation: int              # 1 for the slot's first pod
    port: int                    # the slot's stable port
    env: Mapping[str, str]       # WEFTKIT_* only (engine_env); a backend adds its own
    witness_dir: Path            # outside the volume, on the host, read by the judges
    log_path: Path               # the slot's log file on the host
    wipe: bool                   # a new, empty volume (else the slot's kept volume)
    stop_grace_s: float = 30.0
    labels: Mapping[str, str] = field(default_factory=dict)


class PodHandle(Protocol):
    ready: dict
    log_path: Path

    @property
    def pid(self) -> int | None: ...

    @property
    def running(self) -> bool: ...

    async def wait(self) -> int: ...

    async def stop(self, grace_s: float) -> int: ...

    async def kill(self) -> int: ...


class PodBackend(Protocol):
    name: str
    host: str
    tracks_pids: bool  # the state file lists pod pids for the next `up` to kill

    async def prepare(self) -> None: ...

    def volume(self, slot_name: str) -> str: ...

    async def start(self, spec: PodSpec, timeout_s: float = 60.0) -> PodHandle: ...

    async def reap(self) -> int: ...

    async def close(self) -> None: ...


def make_backend(name: str, state_dir: Path, *, keep_volumes: bool, progress=None) -> PodBackend:
    """The backend a config names (config.py has validated the name)."""
    if name == "docker":
        from .docker import DockerBackend
        return DockerBackend(state_dir, keep_volumes=keep_volumes, progress=progress)
    from .process import ProcessBackend
    return ProcessBackend(state_dir)
