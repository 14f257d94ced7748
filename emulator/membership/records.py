"""Member records: the unit of membership that is gossiped, and which record wins.

A record is what one node believes about another at one incarnation. Only a
member itself (or, for a hosted member, the discovery node that vouches for it)
raises its incarnation, which it does to refute a suspicion or to come back after
being declared failed or having left. Every node applies the same total order,
so that all converge on the same view whatever order updates arrive in:

    (incarnation, rank of status) compared lexicographically, where
    alive < suspect < failed < left.

So a higher incarnation always wins; at one incarnation, suspect beats alive
(SWIM's suspicion), failed beats suspect (SWIM's confirm), and left beats failed
(a graceful leave is the more precise account of the same silence).
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace


class Status(str, enum.Enum):
    ALIVE = "alive"
    SUSPECT = "suspect"
    FAILED = "failed"
    LEFT = "left"

    @property
    def live(self) -> bool:
        """Alive or suspect: still counted as a member (probed, vouched for)."""
        return self in (Status.ALIVE, Status.SUSPECT)


# The precedence table: at equal incarnations the higher rank supersedes.
STATUS_RANK = {Status.ALIVE: 0, Status.SUSPECT: 1, Status.FAILED: 2, Status.LEFT: 3}


@dataclass(frozen=True)
class Meta:
    """What an instance registers: what it is and where it serves."""
    type: str = ""          # database type, e.g. "relational"; "discovery" for nodes
    protocol: str = ""      # wire protocol, e.g. "postgres"; "swim" for nodes
    endpoint: str = ""      # where clients reach it, "host:port" or a URL
    groups: tuple[str, ...] = ()


@dataclass(frozen=True)
class Member:
    node_id: str
    incarnation: int = 0
    status: Status = Status.ALIVE
    addr: str | None = None  # gossip (UDP) address; None for a hosted member
    host: str | None = None  # the discovery node vouching for a hosted member
    meta: Meta = field(default_factory=Meta)

    @property
    def hosted(self) -> bool:
        return self.host is not None

    def with_status(self, status: Status, incarnation: int | None = None) -> "Member":
        inc = self.incarnation if incarnation is None else incarnation
        return replace(self, status=status, incarnation=inc)


def precedence(member: Member) -> tuple[int, int]:
    return member.incarnation, STATUS_RANK[member.status]


def supersedes(new: Member, old: Member | None) -> bool:
    """Whether `new` replaces `old` in a node's table (see the module docstring)."""
    return old is None or precedence(new) > precedence(old)
