"""Events into, and effects out of, the engine persistence machine.

Events are what happened (every one carries `now`, the driver's clock reading);
effects are what the machine wants done. The asyncio driver (engines_fake) and
the SimPy model execute effects and feed back events; neither decides anything.
I/O effects carry a `token`; the event reporting their outcome carries it back,
so a late answer to an abandoned request is recognised and ignored.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .cursor import Cursor
from .headers import Part


@dataclass(frozen=True)
class PersistState:
    """What the machine keeps on the volume (persist.json) across restarts."""
    durable: Cursor | None = None      # the last cursor the function acknowledged
    epoch: int = 0                     # lineage generation of new cursors
    last_full_day: int | None = None   # day index (now // day_seconds) of the last full
    max_payload: int | None = None     # limit learned from a 413
    force_full: bool = False           # next push must be a full (409, WAL dropped, takeover)

    def acknowledged(self, cursor: Cursor, *, full_day: int | None) -> "PersistState":
        """After the function acknowledged a push up to `cursor`; `full_day` is the
        day index when it was a full (which also satisfies a forced full), None for
        a delta. Built directly, not with dataclasses.replace (three times slower),
        once per push round; a test checks every other field is carried over."""
        if full_day is None:
            return PersistState(cursor, self.epoch, self.last_full_day, self.max_payload,
                                self.force_full)
        return PersistState(cursor, self.epoch, full_day, self.max_payload, False)


# ---------------------------------------------------------------- events


@dataclass(frozen=True)
class Booted:
    now: float
    volume_empty: bool
    lsn: int
    persisted: PersistState = PersistState()
    unpushed_bytes: int = 0            # bytes of WAL after the durable cursor


@dataclass(frozen=True)
class Wrote:
    now: float
    lsn: int
    nbytes: int


@dataclass(frozen=True)
class Tick:
    """A push round requested now (the data API's POST /admin/push, a scenario)."""
    now: float
    reason: str = "manual"


@dataclass(frozen=True)
class TimerFired:
    now: float


@dataclass(frozen=True)
class PayloadBuilt:
    token: int
    now: float
    size: int


@dataclass(frozen=True)
class PayloadFailed:
    token: int
    now: float
    reason: str
    wal_missing: bool = False          # a delta's WAL records are gone: a full can still be cut


@dataclass(frozen=True)
class Response:
    """An HTTP answer, already reduced to what the machine decides on
    (engine_policy.response_from_http does that reduction)."""
    token: int
    now: float
    status: int
    retry_after: float | None = None
    max_payload: int | None = None
    cursor: Cursor | None = None
    stored_at: float | None = None
    reason: str = ""


@dataclass(frozen=True)
class NetworkError:
    token: int
    now: float
    reason: str


@dataclass(frozen=True)
class Restored:
    """A 200 restore was verified and applied to the volume."""
    token: int
    now: float
    cursor: Cursor
    lsn: int                           # the volume's lsn now (> cursor.seq if local writes merged)
    lineage: str | None = None         # set after a takeover of another instance's lineage
    deltas: int = 0
    records: int = 0
    size: int = 0


@dataclass(frozen=True)
class Sigterm:
    now: float


# ---------------------------------------------------------------- effects


@dataclass(frozen=True)
class Serve:
    """Boot finished: open the data API. `boot` is fresh | restored | local."""
    boot: str
    cursor: Cursor | None = None
    lineage: str | None = None


@dataclass(frozen=True)
class Restore:
    token: int
    attempt: int
    takeover: bool
    timeout_s: float


@dataclass(frozen=True)
class Health:
    token: int
    timeout_s: float


@dataclass(frozen=True)
class Cut:
    """Build the payload: a full of the state at cursor_to, or the WAL records
    (cursor_from.seq, cursor_to.seq]. The driver copies what it needs at once,
    so later writes and compactions cannot change it."""
    token: int
    kind: str
    cursor_from: Cursor | None
    cursor_to: Cursor


@dataclass(frozen=True)
class Push:
    """Send bytes [offset, offset+length) of payload `token` (all of it when unsplit)."""
    token: int
    kind: str
    cursor_from: Cursor | None
    cursor_to: Cursor
    part: Part | None
    offset: int
    length: int
    attempt: int
    timeout_s: float


@dataclass(frozen=True)
class Release:
    """The payload is no longer needed: delete its bytes."""
    token: int


@dataclass(frozen=True)
class Buffer:
    """Retries ran out: keep the payload on scratch and send it first next tick."""
    token: int
    size: int


@dataclass(frozen=True)
class Save:
    state: PersistState


@dataclass(frozen=True)
class Ledger:
    """An entry for the volume's write ledger (acknowledged pushes, restores, exits)."""
    event: str
    fields: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Compact:
    """Fold the WAL into a snapshot, keeping records after `retain_after` for deltas."""
    retain_after: int


@dataclass(frozen=True)
class StopWrites:
    pass


@dataclass(frozen=True)
class WaitUntil:
    deadline: float


@dataclass(frozen=True)
class Log:
    level: str     # debug | info | warning | error
    message: str


@dataclass(frozen=True)
class Alert:
    kind: str      # auth | fenced | dropped | too_large | flush_incomplete | restore
    message: str


@dataclass(frozen=True)
class Exit:
    code: int
    reason: str
