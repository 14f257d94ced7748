"""Pods: one run of an engine (a process or a container) in a slot, with its volume, witness and log."""
from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from .addresses import HOST
from .fleet import Slot
from .processes import Child


@dataclass
class Pod:
    slot: Slot
    generation: int          # how many pods this slot has had (1 = the first)
    volume: str              # a directory (process backend) or a docker volume's name
    log_path: Path
    witness: Path | None = None  # the slot's witness directory, outside the volume
    address: int | None = None   # the slot's stable port
    state: str = "starting"  # starting | running | stopping | stopped | crashed | killed | failed
    child: Child | None = None   # the backend's handle (processes.Child, backends.docker.DockerPod)
    host: str = HOST              # the backend's advertised address: where the engine answers
    started_at: float = field(default_factory=time.time)
    status: dict = field(default_factory=dict)  # the engine's last GET /status
    exit_code: int | None = None
    exit_cause: str | None = None  # set before we stop or kill it on purpose (policy causes)
    failure: str | None = None     # the engine's own last words when it failed or crashed
    boot_failures: int = 0         # consecutive pods of this slot that failed before ready
    log_offset: int = 0            # where this pod's output starts in the slot's log

    @property
    def name(self) -> str:
        return self.slot.name

    @property
    def pid(self) -> int | None:
        return self.child.pid if self.child else None

    @property
    def url(self) -> str:
        """The engine's data API, for status polls, admin calls and engine faults."""
        return f"http://{self.host}:{self.port}"

    @property
    def port(self) -> int | None:
        return self.child.ready.get("port") if self.child else self.address

    @property
    def instance_id(self) -> str:
        return self.status.get("instance_id") or (self.child.ready.get("instance_id", "") if self.child else "")

    def _ready_boot(self) -> dict | None:
        """Until the first /status poll, how it booted as its ready line said."""
        ready = self.child.ready if self.child else {}
        return {"how": ready["boot"], "cursor": ready.get("cursor")} if ready.get("boot") else None

    def to_json(self) -> dict:
        s = self.status
        return {
            "name": self.name, "kind": self.slot.kind, "slot": self.slot.index,
            "generation": self.generation, "state": self.state, "pid": self.pid, "port": self.port,
            "instance_id": self.instance_id, "volume": str(self.volume), "log": str(self.log_path),
            "witness": str(self.witness) if self.witness else None,
            "started_at": self.started_at, "exit_code": self.exit_code, "failure": self.failure,
            "cursor": s.get("cursor"), "lsn": s.get("lsn"), "durable_lsn": s.get("durable_lsn"),
            "last_push": s.get("last_push"), "buffered_bytes": s.get("buffered_bytes"),
            "boot": s.get("boot") or self._ready_boot(), "discovery": s.get("discovery"),
            "mode": s.get("mode"),
        }


def failures(pods) -> dict[str, str]:
    """{engine: its own last words} for every pod that is down (crashed, killed, failed),
    or starting again after failing at boot (then the last failure)."""
    return {p.name: p.failure or f"exit {p.exit_code}" for p in pods
            if p.state in ("crashed", "killed", "failed") or (p.state == "starting" and p.failure)}


def prepare_volume(volume: Path, *, wipe: bool) -> None:
    """An empty volume for a new pod on Fargate/Cloud Run; the same one with a PVC."""
    if wipe and volume.exists():
        shutil.rmtree(volume)
    volume.mkdir(parents=True, exist_ok=True)
