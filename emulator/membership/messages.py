"""Protocol messages (what travels in one datagram) and effects (what the driver does).

Every message carries piggybacked updates: member records, each with the age of
its suspicion when the record is a suspect one. The age lets every node anchor
its own suspicion deadline to the first suspicion rather than to the moment the
news reached it, so the whole cluster declares a silent member failed at about
the same moment, `suspicion_timeout` after it was first suspected (transit time
is not counted: on a LAN it is negligible, and it only makes a deadline later).
"""
from __future__ import annotations

from dataclasses import dataclass

from .records import Member, Status


@dataclass(frozen=True)
class Update:
    member: Member
    suspect_age: float = 0.0  # seconds since first suspicion, for suspect records


@dataclass(frozen=True)
class Ping:
    seq: int
    source: str
    target: str  # the node id meant; a node at a reused address ignores the ping
    updates: tuple[Update, ...] = ()


@dataclass(frozen=True)
class Ack:
    seq: int
    source: str
    updates: tuple[Update, ...] = ()


@dataclass(frozen=True)
class PingReq:
    """Ask the receiver to ping `target` on our behalf (SWIM's indirect probe)."""
    seq: int
    source: str
    target: str
    target_addr: str
    updates: tuple[Update, ...] = ()


@dataclass(frozen=True)
class IndirectAck:
    """The receiver of a PingReq heard `target` answer: relayed to the requester."""
    seq: int  # the requester's sequence number
    source: str
    target: str
    updates: tuple[Update, ...] = ()


@dataclass(frozen=True)
class Gossip:
    """Updates only, to a few random members per protocol period (no answer)."""
    source: str
    updates: tuple[Update, ...] = ()


@dataclass(frozen=True)
class Join:
    """A node (re)entering the cluster: answered by a Sync with the whole table."""
    source: str
    member: Member


@dataclass(frozen=True)
class Sync:
    """Push-pull anti-entropy: one chunk of the sender's table."""
    source: str
    updates: tuple[Update, ...]
    want_reply: bool = False


Message = Ping | Ack | PingReq | IndirectAck | Gossip | Join | Sync


# Effects returned by the core for the driver to execute.

@dataclass(frozen=True)
class Send:
    addr: str               # "host:port"
    message: Message
    to: str | None = None   # the node id at addr, when known (fault rules use it)


@dataclass(frozen=True)
class MemberChanged:
    member: Member
    previous: Status | None  # None: a member this node had not known
    at: float


@dataclass(frozen=True)
class MemberReaped:
    node_id: str
    at: float


Effect = Send | MemberChanged | MemberReaped
