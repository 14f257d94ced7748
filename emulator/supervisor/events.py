"""Emulator events: frozen records on one bus, for the log, the API stream and the TUI.

Every event is a `Event(kind, subject, data, at)`; kinds are the strings in
KINDS so that JSON consumers (the headless log, SSE clients) can filter on them.
The bus keeps a bounded history so that a late subscriber sees what happened.
"""
from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from typing import Any

KINDS = (
    "emulator.ready", "emulator.stopping", "emulator.stopped",
    "service.started", "service.stopped", "service.failed",
    "engine.starting", "engine.started", "engine.restored", "engine.pushed", "engine.push_failed",
    "engine.stopping", "engine.stopped", "engine.crashed", "engine.killed", "engine.recycled",
    "engine.failed", "engine.workload", "engine.alert", "engine.phase",
    "fleet.scaled", "membership.changed", "fault.set", "fault.cleared", "store.reset",
)


@dataclass(frozen=True)
class Event:
    kind: str
    subject: str
    data: dict[str, Any] = field(default_factory=dict)
    at: float = 0.0
    seq: int = 0

    def to_json(self) -> str:
        return json.dumps(asdict(self), default=str, sort_keys=True)


class EventBus:
    def __init__(self, history: int = 1000, clock=time.time):
        self._history: deque[Event] = deque(maxlen=history)
        self._subscribers: set[asyncio.Queue] = set()
        self._clock = clock
        self._seq = 0

    def emit(self, kind: str, subject: str, /, **data) -> Event:
        assert kind in KINDS, kind
        self._seq += 1
        event = Event(kind, subject, data, self._clock(), self._seq)
        self._history.append(event)
        for queue in list(self._subscribers):
            if queue.full():  # a slow consumer loses its oldest, never blocks the emulator
                queue.get_nowait()
            queue.put_nowait(event)
        return event

    def history(self, since: int = 0) -> list[Event]:
        return [e for e in self._history if e.seq > since]

    def subscribe(self, maxsize: int = 1000) -> asyncio.Queue:
        queue: asyncio.Queue = asyncio.Queue(maxsize)
        self._subscribers.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue) -> None:
        self._subscribers.discard(queue)
