"""The process backend: each engine pod is a child process of the supervisor.

Its volume is a directory STATE_DIR/volumes/SLOT (wiped for an empty volume);
the child is tied to the supervisor's life (processes.TIE_TO_PARENT), and its
pid goes into the state file so that the next `up` kills it if the machine
session crashed (previous_run.py).
"""
from __future__ import annotations

from pathlib import Path

from ..addresses import HOST
from ..pods import prepare_volume
from ..processes import Child, child_env, start_child
from . import PodSpec


class ProcessBackend:
    name = "process"
    host = HOST
    tracks_pids = True

    def __init__(self, state_dir: Path):
        self.state_dir = state_dir

    async def prepare(self) -> None:
        return None

    def volume(self, slot_name: str) -> str:
        return str(self.state_dir / "volumes" / slot_name)

    async def start(self, spec: PodSpec, timeout_s: float = 60.0) -> Child:
        volume = Path(self.volume(spec.name))
        prepare_volume(volume, wipe=spec.wipe)
        return await start_child(
            spec.name, ["engine", "--kind", spec.kind, "--data-dir", str(volume), "--port", str(spec.port)],
            env=child_env(dict(spec.env)), log_path=spec.log_path, timeout_s=timeout_s)

    async def reap(self) -> int:
        return 0  # previous_run.reap_previous_run kills the pids of the state file

    async def close(self) -> None:
        return None  # volumes are directories in the state dir; the next `up` wipes or keeps them
