"""Piggyback dissemination: which member records ride on the next message.

Each changed record is queued once (a newer record about the same member takes
its place and starts afresh). Messages take the least-sent records first, and
among equals the most recently queued or sent, until the byte budget is spent;
a record leaves the queue once sent `limit` times, where the core passes SWIM's
lambda * ceil(log2(N + 1)). The queue holds node ids only: what is sent is the
table's current record for each, so a record is never stale when it leaves.

Records sit in buckets by transmission count, so taking k records costs O(k),
not a sort of the whole queue: after a mass join every node holds N records
and sends several messages per period.
"""
from __future__ import annotations

from typing import Callable, Iterable


class BroadcastQueue:
    def __init__(self):
        self._sent: dict[str, int] = {}
        self._buckets: dict[int, dict[str, None]] = {}  # count -> ids, oldest first

    def enqueue(self, node_id: str) -> None:
        self.discard(node_id)
        self._sent[node_id] = 0
        self._buckets.setdefault(0, {})[node_id] = None

    def discard(self, node_id: str) -> None:
        count = self._sent.pop(node_id, None)
        if count is not None:
            bucket = self._buckets[count]
            del bucket[node_id]
            if not bucket:
                del self._buckets[count]

    def transmissions(self, node_id: str) -> int | None:
        """How often the queued record was sent so far (None: not queued)."""
        return self._sent.get(node_id)

    def __len__(self) -> int:
        return len(self._sent)

    def __contains__(self, node_id: str) -> bool:
        return node_id in self._sent

    def sent_once_more(self, node_id: str, limit: int) -> None:
        """Count a transmission the caller chose itself (a record it sends first)."""
        count = self._sent.get(node_id)
        if count is None:
            return
        self.discard(node_id)
        if count + 1 < limit:
            self._sent[node_id] = count + 1
            self._buckets.setdefault(count + 1, {})[node_id] = None

    def hot(self, below: int) -> bool:
        """Whether any record was sent fewer than `below` times."""
        return any(count < below for count in self._buckets)

    def _ranked(self, skipped: set[str], below: int | None):
        for count in sorted(self._buckets):
            if below is not None and count >= below:
                return
            for node_id in reversed(self._buckets[count]):
                if node_id not in skipped:
                    yield node_id

    def take(self, *, limit: int, budget: int, size_of: Callable[[str], int],
             skip: Iterable[str] = (), below: int | None = None) -> list[str]:
        """Ids for one message; counts them as sent once more.

        One record always goes even if alone it exceeds the budget, so that an
        oversized record cannot block the queue forever. The first record that does
        not fit ends the message (records are of similar size, and looking further
        for a smaller one would cost a size check per queued record per message).
        """
        chosen, used = [], 0
        for node_id in self._ranked(set(skip), below):
            size = size_of(node_id)
            if chosen and used + size > budget:
                break
            chosen.append(node_id)
            used += size
            if used >= budget:
                break
        for node_id in chosen:
            self.sent_once_more(node_id, limit)
        return chosen
