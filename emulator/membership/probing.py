"""Choosing whom to probe, and the state of the probe in flight.

SWIM (section 4.3) probes round-robin over a list shuffled at the start of
each round, inserting newcomers at random positions: every member is probed
once per round, so the time until a failed member is first probed is bounded
(at most 2N - 1 periods for one prober) where a purely random choice would
leave it unbounded.
"""
from __future__ import annotations

import random
from dataclasses import dataclass


class ProbeRing:
    def __init__(self, rng: random.Random):
        self._rng = rng
        self._ring: list[str] = []
        self._index = 0

    def __contains__(self, node_id: str) -> bool:
        return node_id in self._ring

    def __len__(self) -> int:
        return len(self._ring)

    def add(self, node_id: str) -> None:
        if node_id in self._ring:
            return
        position = self._rng.randint(0, len(self._ring))
        self._ring.insert(position, node_id)
        if position < self._index:
            self._index += 1

    def remove(self, node_id: str) -> None:
        if node_id not in self._ring:
            return
        position = self._ring.index(node_id)
        del self._ring[position]
        if position < self._index:
            self._index -= 1

    def next(self) -> str | None:
        if not self._ring:
            return None
        if self._index >= len(self._ring):
            self._rng.shuffle(self._ring)
            self._index = 0
        node_id = self._ring[self._index]
        self._index += 1
        return node_id


@dataclass
class Probe:
    """One protocol period's probe: direct ping, then k indirect ones, then verdict."""
    target: str
    seq: int
    started: float
    direct_deadline: float  # no ack by then: ask k others (PingReq)
    end: float              # no ack by then: suspect the target (end of the period)
    indirect_sent: bool = False
    acked: bool = False


@dataclass(frozen=True)
class Relay:
    """A PingReq we serve: when `target` acks our ping, tell the requester."""
    requester_addr: str
    requester_seq: int
    requester: str
    target: str
    expires: float
