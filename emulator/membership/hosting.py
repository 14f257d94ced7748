"""Hosted members: instances that heartbeat a discovery node instead of speaking SWIM.

An engine registers with one discovery node (its host) and heartbeats it. The
host gossips the engine's record (with `host` set to itself and no gossip
address) and vouches for it: while heartbeats are fresh it refutes any claim
that the engine is suspect or failed, exactly as a node refutes claims about
itself. After `heartbeat_timeout` of silence the host suspects the engine, and
the ordinary suspicion timeout makes it failed. A heartbeat after that brings
it back with a higher incarnation. When the host itself fails or leaves, every
node marks its engines failed without gossip, since each can derive it; an
engine that re-registers elsewhere comes back at a higher incarnation.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from .messages import Effect
from .records import Member, Meta, Status, precedence

if TYPE_CHECKING:
    from .swim import Membership


class RegistrationConflict(ValueError):
    """The id belongs to a discovery node (which speaks for itself)."""


class NotHostedHere(LookupError):
    def __init__(self, node_id: str, host: str | None):
        super().__init__(f"{node_id} is hosted by {host or 'no discovery node'}, not here")
        self.node_id = node_id
        self.host = host


class HostedMembers:
    def __init__(self, core: "Membership"):
        self.core = core
        self.heartbeats: dict[str, float] = {}  # node id -> last heartbeat

    @property
    def _timeout(self) -> float:
        return self.core.params.heartbeat_timeout

    def _mine(self, node_id: str) -> Member | None:
        member = self.core.table.member(node_id)
        return member if member is not None and member.host == self.core.me else None

    def vouches_for(self, node_id: str, now: float) -> bool:
        last = self.heartbeats.get(node_id)
        member = self._mine(node_id)
        return (last is not None and member is not None and member.status is not Status.LEFT
                and now < last + self._timeout)

    def deadlines(self) -> list[float]:
        table = self.core.table
        return [last + self._timeout for node_id, last in self.heartbeats.items()
                if (m := table.member(node_id)) is not None and m.status is Status.ALIVE]

    def register(self, node_id: str, meta: Meta, now: float) -> tuple[Member, list[Effect]]:
        current = self.core.table.member(node_id)
        if node_id == self.core.me or (current is not None and current.addr is not None):
            raise RegistrationConflict(f"{node_id} is the id of a discovery node")
        incarnation = current.incarnation + 1 if current is not None else 0
        member = Member(node_id, incarnation, Status.ALIVE, None, self.core.me, meta)
        effects: list[Effect] = []
        self.core.record(member, now, effects)
        self.heartbeats[node_id] = now
        return member, effects

    def heartbeat(self, node_id: str, now: float) -> tuple[Member | None, list[Effect]]:
        """None: not registered here (or left): the instance must register again."""
        current = self._mine(node_id)
        if current is None or current.status is Status.LEFT:
            self.heartbeats.pop(node_id, None)
            return None, []
        self.heartbeats[node_id] = now
        self.core.table.saw(node_id, now)
        effects: list[Effect] = []
        if current.status is not Status.ALIVE:
            current = current.with_status(Status.ALIVE, current.incarnation + 1)
            self.core.record(current, now, effects)
        return current, effects

    def deregister(self, node_id: str, now: float) -> tuple[Member, list[Effect]]:
        current = self.core.table.member(node_id)
        if current is None:
            raise KeyError(node_id)
        if current.host != self.core.me:
            raise NotHostedHere(node_id, current.host)
        self.heartbeats.pop(node_id, None)
        effects: list[Effect] = []
        if current.status is not Status.LEFT:
            current = current.with_status(Status.LEFT)
            self.core.record(current, now, effects)
        return current, effects

    def merge_claim(self, claim: Member, now: float, effects: list[Effect]) -> None:
        """Gossip about a member we vouch for: accept a move elsewhere, refute the rest."""
        current = self._mine(claim.node_id)
        if claim == current or precedence(claim) < precedence(current):
            return
        if claim.status is Status.ALIVE and claim.host != self.core.me:
            self.heartbeats.pop(claim.node_id, None)  # it registered with another node
            self.core.record(claim, now, effects)
            return
        incarnation = max(claim.incarnation, current.incarnation) + 1
        self.core.record(current.with_status(Status.ALIVE, incarnation), now, effects)

    def adopt(self, node_id: str, now: float) -> None:
        """Gossip says we host it but we do not track it (we restarted): give it one
        heartbeat timeout to heartbeat us, after which it is suspected as usual."""
        self.heartbeats.setdefault(node_id, now)

    def check(self, now: float, effects: list[Effect]) -> None:
        for node_id, last in list(self.heartbeats.items()):
            member = self._mine(node_id)
            if member is None or member.status is Status.LEFT:
                del self.heartbeats[node_id]
            elif member.status is Status.ALIVE and now >= last + self._timeout:
                self.core.record(member.with_status(Status.SUSPECT), now, effects)

    def reassert_all(self, now: float, effects: list[Effect]) -> None:
        """We were declared failed or left, so others marked our members failed too."""
        for node_id in list(self.heartbeats):
            if self.vouches_for(node_id, now):
                current = self._mine(node_id)
                self.core.record(current.with_status(Status.ALIVE, current.incarnation + 1),
                                 now, effects)

    def orphan(self, host: str, now: float, effects: list[Effect]) -> None:
        """`host` failed or left: nobody vouches for its members any more."""
        for member in self.core.table.hosted_by(host):
            if member.status.live:
                self.core.record(member.with_status(Status.FAILED), now, effects, gossip=False)
