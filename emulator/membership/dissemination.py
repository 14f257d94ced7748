"""Piggyback dissemination: which member records ride on the next message.

Each changed record is queued once (a newer record about the same member takes
its place and starts afresh). Messages take the least-sent records first, the
newest first among equals, until the byte budget is spent; a record is dropped
from the queue once sent `limit` times, where the core passes SWIM's
lambda * ceil(log2(N + 1)). The queue holds node ids only: what is sent is the
table's current record for each, so a record is never stale when it leaves.
"""
from __future__ import annotations

from typing import Callable, Iterable


class BroadcastQueue:
    def __init__(self):
        self._sent: dict[str, int] = {}
        self._order: dict[str, int] = {}
        self._counter = 0

    def enqueue(self, node_id: str) -> None:
        self._counter += 1
        self._sent[node_id] = 0
        self._order[node_id] = self._counter

    def discard(self, node_id: str) -> None:
        self._sent.pop(node_id, None)
        self._order.pop(node_id, None)

    def transmissions(self, node_id: str) -> int | None:
        """How often the queued record was sent so far (None: not queued)."""
        return self._sent.get(node_id)

    def __len__(self) -> int:
        return len(self._sent)

    def __contains__(self, node_id: str) -> bool:
        return node_id in self._sent

    def take(self, *, limit: int, budget: int, size_of: Callable[[str], int],
             skip: Iterable[str] = ()) -> list[str]:
        """Ids for one message; counts them as sent once more.

        One record always goes even if alone it exceeds the budget, so that an
        oversized record cannot block the queue forever.
        """
        skipped = set(skip)
        ranked = sorted((sent, -self._order[node_id], node_id)
                        for node_id, sent in self._sent.items() if node_id not in skipped)
        chosen, used = [], 0
        for _, _, node_id in ranked:
            size = size_of(node_id)
            if chosen and used + size > budget:
                continue
            chosen.append(node_id)
            used += size
            if used >= budget:
                break
        for node_id in chosen:
            self._sent[node_id] += 1
            if self._sent[node_id] >= limit:
                self.discard(node_id)
        return chosen
