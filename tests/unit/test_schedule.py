"""Fixed-period schedules are answered by arithmetic, exactly as croniter answers them."""
from __future__ import annotations

import random
from datetime import datetime, timezone

import pytest
from croniter import croniter

from emulator.protocol.schedule import Schedule

PERIODIC = {"*/15 * * * *": 900, "* * * * *": 60, "*/2 * * * * *": 2, "* * * * * *": 1,
            "*/30 * * * * *": 30, "0 * * * *": 3600, "@hourly": 3600, "0 */2 * * *": 7200,
            "0 0 */6 * * *": 21600, "0 */5 * * * *": 300, "@daily": 86400, "@midnight": 86400,
            "0 0 * * *": 86400, "0 0 0 * * *": 86400, "*/1 * * * *": 60}
NOT_PERIODIC = ["*/7 * * * *", "5 * * * *", "*/15 9 * * *", "0 0 * * 1", "@weekly", "@monthly",
                "*/2 0 * * * *", "0 0 1 * *", "*/45 * * * * *", "1 */2 * * *"]


def by_croniter(schedule: Schedule, now: float) -> float:
    start = datetime.fromtimestamp(now, tz=timezone.utc)
    return float(croniter(schedule.expression, start,
                          second_at_beginning=schedule.seconds_resolution).get_next(float))


def sample_times(period: float, rng: random.Random) -> list[float]:
    base = [0.0, 1_000_000.0, 1_700_000_000.0, 1_711_999_200.5, 4_102_444_800.0]
    times = []
    for t in base:
        boundary = (t // period) * period
        times += [t, boundary, boundary + 1e-3, boundary - 1e-3, boundary + period / 2]
    times += [rng.uniform(0, 4e9) for _ in range(40)]
    return times


@pytest.mark.parametrize("expression, period", PERIODIC.items())
def test_fixed_period_schedules_tick_where_croniter_does(expression, period):
    schedule = Schedule.parse(expression)
    assert schedule.period == period
    for now in sample_times(period, random.Random(expression)):
        assert schedule.next_after(now) == by_croniter(schedule, now), now


@pytest.mark.parametrize("expression", NOT_PERIODIC)
def test_other_schedules_go_to_croniter(expression):
    schedule = Schedule.parse(expression)
    assert schedule.period is None
    for now in (1_700_000_000.0, 1_711_999_200.5):
        assert schedule.next_after(now) == by_croniter(schedule, now)


def test_the_period_is_not_part_of_a_schedules_identity():
    assert Schedule.parse("*/15 * * * *") == Schedule("*/15 * * * *", False)
    assert repr(Schedule.parse("*/15 * * * *")) == "Schedule(expression='*/15 * * * *', seconds_resolution=False)"
