"""Events into, and effects out of, the engine persistence machine.

Events are what happened (every one carries `now`, the driver's clock reading);
effects are what the machine wants done. The asyncio driver (engines_fake) and
the SimPy model execute effects and feed back events; neither decides anything.
I/O effects carry a `token`; the event reporting their outcome carries it back,
so a late answer to an abandoned request is recognised and ignored.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from .cursor import Cursor
from .headers import Part


def _direct_init(cls):
    """Give a frozen dataclass an __init__ that fills the new instance's __dict__ directly.

    A frozen dataclass's generated __init__ sets each field through object.__setattr__ (its
    own __setattr__ refuses): a Push of nine fields takes three times as long to build as
    when the fields are written into __dict__, and every push round builds a dozen events
    and effects. The instance is the same either way: the same fields and defaults (a
    default_factory called per instance), equality, hash and repr, and frozen afterwards.
    The generated __init__ is kept as `_dataclass_init`; tests/sim/test_speed_paths.py
    checks that both build equal instances of every class here."""
    params, body, names = [], [], {"_MISSING": dataclasses.MISSING}
    for f in dataclasses.fields(cls):
        assert f.init and not f.kw_only, f"{cls.__name__}.{f.name}: only plain fields are copied"
        if f.default is not dataclasses.MISSING:
            names[f"_default_{f.name}"] = f.default
            params.append(f"{f.name}=_default_{f.name}")
        elif f.default_factory is not dataclasses.MISSING:
            names[f"_factory_{f.name}"] = f.default_factory
            params.append(f"{f.name}=_MISSING")
            body.append(f"    if {f.name} is _MISSING: {f.name} = _factory_{f.name}()")
        else:
            params.append(f.name)
        body.append(f"    _fields_[{f.name!r}] = {f.name}")
    assert not hasattr(cls, "__post_init__"), f"{cls.__name__}: __post_init__ is not called"
    source = (f"def __init__(_self_, {', '.join(params)}):\n    _fields_ = _self_.__dict__\n"
              + "\n".join(body or ["    pass"]) + "\n")
    exec(source, names)
    init = names["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    cls._dataclass_init, cls.__init__ = cls.__init__, init
    return cls


@_direct_init
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


@_direct_init
@dataclass(frozen=True)
class Booted:
    now: float
    volume_empty: bool
    lsn: int
    persisted: PersistState = PersistState()
    unpushed_bytes: int = 0            # bytes of WAL after the durable cursor


@_direct_init
@dataclass(frozen=True)
class Wrote:
    now: float
    lsn: int
    nbytes: int


@_direct_init
@dataclass(frozen=True)
class Tick:
    """A push round requested now (the data API's POST /admin/push, a scenario)."""
    now: float
    reason: str = "manual"


@_direct_init
@dataclass(frozen=True)
class TimerFired:
    now: float


@_direct_init
@dataclass(frozen=True)
class PayloadBuilt:
    token: int
    now: float
    size: int


@_direct_init
@dataclass(frozen=True)
class PayloadFailed:
    token: int
    now: float
    reason: str
    wal_missing: bool = False          # a delta's WAL records are gone: a full can still be cut


@_direct_init
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


@_direct_init
@dataclass(frozen=True)
class NetworkError:
    token: int
    now: float
    reason: str


@_direct_init
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


@_direct_init
@dataclass(frozen=True)
class Sigterm:
    now: float


# ---------------------------------------------------------------- effects


@_direct_init
@dataclass(frozen=True)
class Serve:
    """Boot finished: open the data API. `boot` is fresh | restored | local."""
    boot: str
    cursor: Cursor | None = None
    lineage: str | None = None


@_direct_init
@dataclass(frozen=True)
class Restore:
    token: int
    attempt: int
    takeover: bool
    timeout_s: float


@_direct_init
@dataclass(frozen=True)
class Health:
    token: int
    timeout_s: float


@_direct_init
@dataclass(frozen=True)
class Cut:
    """Build the payload: a full of the state at cursor_to, or the WAL records
    (cursor_from.seq, cursor_to.seq]. The driver copies what it needs at once,
    so later writes and compactions cannot change it."""
    token: int
    kind: str
    cursor_from: Cursor | None
    cursor_to: Cursor


@_direct_init
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


@_direct_init
@dataclass(frozen=True)
class Release:
    """The payload is no longer needed: delete its bytes."""
    token: int


@_direct_init
@dataclass(frozen=True)
class Buffer:
    """Retries ran out: keep the payload on scratch and send it first next tick."""
    token: int
    size: int


@_direct_init
@dataclass(frozen=True)
class Save:
    state: PersistState


@_direct_init
@dataclass(frozen=True)
class Ledger:
    """An entry for the volume's write ledger (acknowledged pushes, restores, exits)."""
    event: str
    fields: dict = field(default_factory=dict)


@_direct_init
@dataclass(frozen=True)
class Compact:
    """Fold the WAL into a snapshot, keeping records after `retain_after` for deltas."""
    retain_after: int


@_direct_init
@dataclass(frozen=True)
class StopWrites:
    pass


@_direct_init
@dataclass(frozen=True)
class WaitUntil:
    deadline: float


@_direct_init
@dataclass(frozen=True)
class Log:
    level: str     # debug | info | warning | error
    message: str


@_direct_init
@dataclass(frozen=True)
class Alert:
    kind: str      # auth | fenced | dropped | too_large | flush_incomplete | restore
    message: str


@_direct_init
@dataclass(frozen=True)
class Exit:
    code: int
    reason: str
