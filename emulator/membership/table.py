"""One node's member table: the current record of every member it knows, and local facts.

The table stores; it does not decide. Records enter through `put`, which the
core calls only with a record that supersedes (records.supersedes) or that the
core itself derived. Local facts are not gossiped: when this node last had
evidence a member was alive, when its current status began here, and, for a
suspect, the anchored moment of the first suspicion (its deadline follows).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

from .records import Member, Status


@dataclass
class Entry:
    member: Member
    since: float                       # when the current status began, locally
    last_seen: float | None = None     # last first- or second-hand evidence of life
    suspected_at: float | None = None  # anchored first suspicion (suspect records only)


class MemberTable:
    def __init__(self):
        self._entries: dict[str, Entry] = {}
        self.version = 0  # bumped on every change, so callers can cache what they derive

    def __contains__(self, node_id: str) -> bool:
        return node_id in self._entries

    def __iter__(self) -> Iterator[Entry]:
        return iter(list(self._entries.values()))

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, node_id: str) -> Entry | None:
        return self._entries.get(node_id)

    def member(self, node_id: str) -> Member | None:
        entry = self._entries.get(node_id)
        return entry.member if entry else None

    def put(self, member: Member, now: float, *, suspect_age: float = 0.0) -> Status | None:
        """Store `member` as current; returns the previous status (None: new member)."""
        self.version += 1
        entry = self._entries.get(member.node_id)
        previous = entry.member.status if entry else None
        if entry is None:
            entry = self._entries[member.node_id] = Entry(member, since=now)
        if previous is not member.status:
            entry.since = now
        entry.member = member
        if member.status is Status.ALIVE:
            entry.last_seen = now
        if member.status is Status.SUSPECT:
            anchored = now - max(0.0, suspect_age)
            if previous is not Status.SUSPECT or entry.suspected_at is None:
                entry.suspected_at = anchored
            else:
                entry.suspected_at = min(entry.suspected_at, anchored)
        else:
            entry.suspected_at = None
        return previous

    def tighten(self, node_id: str, now: float, suspect_age: float) -> None:
        """Another report of the same suspicion: keep the earliest anchor."""
        entry = self._entries[node_id]
        if entry.suspected_at is not None:
            self.version += 1
            entry.suspected_at = min(entry.suspected_at, now - max(0.0, suspect_age))

    def saw(self, node_id: str, now: float) -> None:
        entry = self._entries.get(node_id)
        if entry is not None:
            entry.last_seen = now

    def remove(self, node_id: str) -> None:
        self.version += 1
        self._entries.pop(node_id, None)

    def members(self) -> list[Member]:
        return [entry.member for entry in self._entries.values()]

    def peers(self, me: str, statuses=(Status.ALIVE, Status.SUSPECT)) -> list[Member]:
        """Gossiping members (with an address) other than `me`, in the given statuses."""
        return [e.member for e in self._entries.values()
                if e.member.node_id != me and e.member.addr is not None
                and e.member.status in statuses]

    def hosted_by(self, host: str) -> list[Member]:
        return [e.member for e in self._entries.values() if e.member.host == host]
