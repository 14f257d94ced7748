"""Push schedules: WEFTKIT_PERSIST_SCHEDULE as a pure "next tick after t" function.

Seed 000 gives a five-field cron (`*/15 * * * *`, minute resolution). The
emulator also accepts six fields with **seconds first** (`*/2 * * * * *` is
every two seconds), the Quartz/Spring convention, so that tests and demos run
in seconds instead of minutes. croniter's own default puts seconds last; we
ask it for seconds-first explicitly so that a six-field expression reads the
way people write it. `@hourly`-style aliases pass through to croniter.

All times are Unix seconds in UTC; the caller passes the clock reading.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from croniter import croniter

DEFAULT_SCHEDULE = "*/15 * * * *"


class ScheduleError(ValueError):
    pass


@dataclass(frozen=True)
class Schedule:
    expression: str
    seconds_resolution: bool

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
        start = datetime.fromtimestamp(now, tz=timezone.utc)
        it = croniter(self.expression, start, second_at_beginning=self.seconds_resolution)
        return float(it.get_next(float))

    def __str__(self) -> str:
        return self.expression
