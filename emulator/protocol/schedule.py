"""Push schedules: WEFTKIT_PERSIST_SCHEDULE as a pure "next tick after t" function.

Seed 000 gives a five-field cron (`*/15 * * * *`, minute resolution). The
emulator also accepts six fields with **seconds first** (`*/2 * * * * *` is
every two seconds), the Quartz/Spring convention, so that tests and demos run
in seconds instead of minutes. croniter's own default puts seconds last; we
ask it for seconds-first explicitly so that a six-field expression reads the
way people write it. `@hourly`-style aliases pass through to croniter.

All times are Unix seconds in UTC; the caller passes the clock reading.

Every push round asks for its next tick, and croniter takes about 0.2 ms to
answer (hundreds of times the cost of an event through the engine machine):
a simulated month of a thousand engines asks three million times. A schedule
that is a fixed period counted from the Unix epoch (`*/15 * * * *`, every N
seconds, minutes or hours where N divides the field's range, `@hourly`,
`@daily`) is answered by arithmetic instead; tests check it against croniter.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timezone

from croniter import croniter

DEFAULT_SCHEDULE = "*/15 * * * *"


class ScheduleError(ValueError):
    pass


_ALIASES = {"@hourly": "0 * * * *", "@daily": "0 0 * * *", "@midnight": "0 0 * * *"}
_RANGES = (60, 60, 24)  # seconds, minutes, hours: a step must divide its range


def _step(text: str, size: int) -> int | None:
    """N for `*` (1) or `*/N` when N divides the field's range, else None."""
    if text == "*":
        return 1
    if text.startswith("*/") and text[2:].isdigit():
        n = int(text[2:])
        return n if 0 < n <= size and size % n == 0 else None
    return None


def fixed_period(expression: str, seconds_resolution: bool) -> float | None:
    """The period in seconds when the schedule ticks at every multiple of it since
    the epoch, else None. Such a cron steps one field (seconds, minutes or hours),
    pins every finer field at 0 and leaves every coarser one `*`."""
    fields = _ALIASES.get(expression, expression).split(" ")
    if fields[0].startswith("@"):
        return None
    if not seconds_resolution:
        fields = ["0"] + fields
    if len(fields) != 6 or fields[3:] != ["*", "*", "*"]:
        return None
    unit = 1
    for index, (text, size) in enumerate(zip(fields[:3], _RANGES)):
        step = _step(text, size)
        if step is not None and all(f == "*" for f in fields[index + 1:3]):
            return float(unit * step)
        if text != "0":
            return None
        unit *= size
    return 86400.0 if fields[:3] == ["0", "0", "0"] else None


@dataclass(frozen=True)
class Schedule:
    expression: str
    seconds_resolution: bool
    period: float | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self):
        object.__setattr__(self, "period", fixed_period(self.expression, self.seconds_resolution))

    @classmethod
    def parse(cls, text: str) -> "Schedule":
        expr = " ".join((text or "").split())
        if not expr:
            raise ScheduleError("empty cron expression")
        fields = expr.split(" ")
        if expr.startswith("@"):
            seconds = False
        elif len(fields) in (5, 6):
            seconds = len(fields) == 6
        else:
            raise ScheduleError(f"{text!r} has {len(fields)} fields; expected 5 "
                                "(min hour dom mon dow) or 6 (sec min hour dom mon dow)")
        schedule = cls(expr, seconds)
        try:
            schedule.next_after(0.0)
        except (ValueError, KeyError, TypeError) as exc:
            raise ScheduleError(f"{text!r} is not a valid cron expression: {exc}") from None
        return schedule

    def next_after(self, now: float) -> float:
        """The first tick strictly after `now`."""
        period = self.period
        if period is not None:
            return (math.floor(now / period) + 1) * period
        start = datetime.fromtimestamp(now, tz=timezone.utc)
        it = croniter(self.expression, start, second_at_beginning=self.seconds_resolution)
        return float(it.get_next(float))

    def __str__(self) -> str:
        return self.expression
