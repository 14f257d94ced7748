"""The wall clock the engines' push schedules read, on virtual time.

A cron schedule ticks at instants of the wall clock (`*/2 * * * * *` at every
even second, `*/15 * * * *` at the quarter hours), not at times counted from
when a run began. Live, a scenario's time zero falls wherever the wall clock
happens to be when its stack is ready, so the first tick comes anywhere from
a moment to a whole period after it; in a short scenario, whether a tick
lands just before or just after a stop moves a push count by several percent.

The simulator's clock starts at 0 (SimPy's) and every time in its evidence
is on that clock. What the engines' schedules read is that time plus an
offset: `wall = virtual + offset`. The runner picks the offset so that time
zero falls at `[sim] clock_at_zero` (a live run's wall-clock time zero, to
replay it), or draws it from the seed (so replications average over the
schedule's phase, as live runs do).
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field

from emulator.protocol.schedule import Schedule

WEEK_S = 7 * 86400  # a drawn clock falls anywhere in a week: every minute, hour and weekday alike


def drawn_offset(seed: int) -> float:
    """The clock offset of a run whose clock nobody set: uniform over a week, to the millisecond,
    from its own RNG (drawing it moves no other draw)."""
    return random.Random(f"{seed}:clock").randrange(WEEK_S * 1000) / 1000


@dataclass(frozen=True)
class OffsetSchedule(Schedule):
    """A schedule read on a clock `offset` seconds ahead of the caller's: the machine asks with
    virtual time and is answered in virtual time."""
    offset: float = field(default=0.0)

    @classmethod
    def of(cls, schedule: Schedule, offset: float) -> Schedule:
        if schedule.period is not None:
            offset = round(offset % schedule.period, 6)  # the same ticks; small numbers keep precision
        if offset == 0.0:
            return schedule
        return cls(schedule.expression, schedule.seconds_resolution, offset)

    def next_after(self, now: float) -> float:
        """The first tick strictly after `now` (virtual). The sum `now + offset` may round to just
        below the tick `now` is on; asking again a little later keeps ticks strictly increasing."""
        offset = self.offset
        tick = Schedule.next_after(self, now + offset) - offset
        nudge = 1e-6
        while tick <= now:
            tick = Schedule.next_after(self, now + offset + nudge) - offset
            nudge *= 2
        return tick
