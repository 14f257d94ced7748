"""The fleet as data: slots, pods and the pure policies that act on them.

A *slot* is a place in a kind's replica set (`vector-2`), like a StatefulSet
ordinal or an ECS task slot; a *pod* is one run of an engine process in a slot.
Recycling replaces the pod and keeps the slot. Policies here are pure
functions, so the supervisor, the scenarios and the simulation share them.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping

from .config import DEFAULT_SCHEDULE, EmulatorConfig


@dataclass(frozen=True, order=True)
class Slot:
    kind: str
    index: int

    @property
    def name(self) -> str:
        return f"{self.kind}-{self.index}"

    @classmethod
    def parse(cls, name: str) -> "Slot":
        kind, _, index = name.rpartition("-")
        if not kind or not index.isdigit():
            raise ValueError(f"{name!r} is not an engine name like vector-1")
        return cls(kind, int(index))


def initial_slots(config: EmulatorConfig) -> list[Slot]:
    return [Slot(kind, i) for kind, spec in config.fleet.items() for i in range(1, spec.replicas + 1)]


def scale_plan(current: Iterable[Slot], kind: str, replicas: int) -> tuple[list[Slot], list[Slot]]:
    """(slots to start, slots to stop) to bring `kind` to `replicas`.

    Like a StatefulSet: scale-out fills the lowest free ordinals, scale-in stops
    the highest, so `vector-1` is the last to go and the first to come back.
    """
    if replicas < 0:
        raise ValueError("replicas must be >= 0")
    have = sorted(s for s in current if s.kind == kind)
    if len(have) > replicas:
        return [], sorted(have, reverse=True)[: len(have) - replicas]
    taken = {s.index for s in have}
    free = (i for i in range(1, 10**6) if i not in taken)
    return [Slot(kind, next(free)) for _ in range(replicas - len(have))], []


def rolling_order(slots: Iterable[Slot]) -> list[Slot]:
    """Highest ordinal first, as Kubernetes rolls a StatefulSet."""
    return sorted(slots, reverse=True)


def engine_env(config: EmulatorConfig, slot: Slot, *, endpoint: str, secret: str,
               discovery_url: str | None, witness_dir: str | None = None) -> dict[str, str]:
    """WEFTKIT_* for one pod: serverless on our function, then defaults, then per-kind.

    The witness directory belongs to the slot and lies outside its volume, so
    it outlives the pods (and their wiped volumes) and reports what was lost.
    """
    env = {
        "WEFTKIT_PERSIST_MODE": "serverless",
        "WEFTKIT_PERSIST_ENDPOINT": endpoint,
        "WEFTKIT_PERSIST_SECRET": secret,
        "WEFTKIT_PERSIST_SCHEDULE": DEFAULT_SCHEDULE,
    }
    if config.platform.instance_id == "stable":
        env["WEFTKIT_PERSIST_INSTANCE_ID"] = slot.name
    if discovery_url:
        env["WEFTKIT_DISCOVERY_URL"] = discovery_url
    if witness_dir:
        env["WEFTKIT_ENGINE_WITNESS_DIR"] = witness_dir
    env.update(config.defaults_env)
    kind = config.fleet.get(slot.kind)
    if kind is not None:
        env.update(kind.env)
    return env


def fleet_counts(slots: Iterable[Slot]) -> Mapping[str, int]:
    counts: dict[str, int] = {}
    for slot in slots:
        counts[slot.kind] = counts.get(slot.kind, 0) + 1
    return counts
