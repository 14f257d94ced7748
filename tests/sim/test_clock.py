"""The engines' clock in the simulator: `[sim] clock_at_zero` and the schedule read on it.

Pure tests of OffsetSchedule (times by hand), the key's checks through the loader (errors name
the key and line), and simulated runs whose first ticks land where the wall clock puts them.
"""
from __future__ import annotations

import pytest

from emulator.protocol.schedule import Schedule
from emulator.scenario.library import resolve
from emulator.scenario.loader import ScenarioError, load_scenario, parse_scenario
from sim.model.clock import WEEK_S, OffsetSchedule, drawn_offset
from sim.runner import simulate

CLOCK = 1796047400.0  # 2026-11-30T14:03:20Z, an even second


def test_a_periodic_schedule_ticks_at_the_wall_clocks_instants():
    s = OffsetSchedule.of(Schedule.parse("*/2 * * * * *"), CLOCK + 0.3)
    ticks, t = [], 0.0
    for _ in range(4):
        t = s.next_after(t)
        ticks.append(round(t, 9))
    assert ticks == [1.7, 3.7, 5.7, 7.7]  # the wall clock reads CLOCK + 2k at each


def test_the_offset_of_a_periodic_schedule_is_kept_small_and_a_whole_period_is_no_offset():
    s = Schedule.parse("*/15 * * * *")
    assert OffsetSchedule.of(s, CLOCK + 60).offset == 260.0  # 14:04:20 is 260 s past a quarter
    assert OffsetSchedule.of(s, 900 * 3) is s


def test_a_calendar_schedule_reads_the_date_and_weekday():
    # 2026-11-30 is a Monday: "at 03:00 on Mondays" next falls a week after that morning's.
    cron = Schedule.parse("0 3 * * 1")
    s = OffsetSchedule.of(cron, CLOCK)
    first = s.next_after(0.0)
    assert CLOCK + first == cron.next_after(CLOCK)
    assert round(first / 86400, 4) == round((7 * 86400 - (11 * 3600 + 3 * 60 + 20)) / 86400, 4)


def test_ticks_are_strictly_after_now_even_when_the_sum_rounds_below_a_tick():
    s = OffsetSchedule.of(Schedule.parse("*/2 * * * * *"), 0.1)
    t = 0.0
    for _ in range(10_000):
        nxt = s.next_after(t)
        assert nxt > t and nxt - t <= 2.0 + 1e-9
        t = nxt  # asked exactly at the tick, as the machine does when its timer fires
    calendar = OffsetSchedule.of(Schedule.parse("0 3 * * *"), CLOCK + 0.1)
    tick = calendar.next_after(0.0)
    assert calendar.next_after(tick) > tick + 86000


def test_a_drawn_clock_is_the_seeds_and_falls_within_a_week():
    offsets = {drawn_offset(seed) for seed in range(50)}
    assert len(offsets) == 50 and all(0 <= o < WEEK_S for o in offsets)
    assert drawn_offset(7) == drawn_offset(7)


def test_clock_at_zero_is_a_sim_key_taking_a_datetime_or_unix_seconds():
    text = '[scenario]\nname = "c"\ndescription = "d"\nduration = "10s"\n[fleet.relational]\nreplicas = 1\n[sim]\n'
    assert parse_scenario(text + "clock_at_zero = 2026-11-30T14:03:20Z\n").sim["clock_at_zero"] == CLOCK
    assert parse_scenario(text + "clock_at_zero = 2026-11-30T15:03:20+01:00\n").sim["clock_at_zero"] == CLOCK
    assert parse_scenario(text + "clock_at_zero = 1796047400.5\n").sim["clock_at_zero"] == CLOCK + 0.5
    assert parse_scenario(text + "clock_at_zero = 1796047400.5\n").sim_only


@pytest.mark.parametrize("value, says", [
    ("2026-11-30T14:03:20", "needs its UTC offset (write 2026-11-30T14:03:20Z for UTC)"),
    ("2026-11-30", "must be a Unix time in seconds"),
    ("-1", "must be a Unix time in seconds"),
    ('"noon"', "got 'noon'"),
])
def test_a_bad_clock_at_zero_is_named_with_its_line(value, says):
    text = f'[scenario]\nname = "c"\ndescription = "d"\nduration = "10s"\n[fleet.relational]\nreplicas = 1\n[sim]\nclock_at_zero = {value}\n'
    with pytest.raises(ScenarioError) as err:
        parse_scenario(text, "c.toml")
    assert "line 8" in str(err.value) and "sim.clock_at_zero" in str(err.value) and says in str(err.value)


def _first_acks(run, engine="relational-1", n=2):
    ev = run.evidence
    return [round(e["at"] - ev.start, 1) for e in ev.witness[engine] if "ack" in e][:n]


def test_a_run_given_the_clock_at_time_zero_ticks_where_that_clock_puts_the_ticks():
    scenario = load_scenario(resolve("spot-interruption"))  # one engine, a push every 2 s
    late = simulate(scenario, clock_at_zero=CLOCK + 0.3)
    early = simulate(scenario, clock_at_zero=CLOCK + 1.5)
    assert late.options["clock_at_zero"] == CLOCK + 0.3 and early.options["clock_at_zero"] == CLOCK + 1.5
    assert _first_acks(late) == [1.7, 3.7]    # each a tick plus the push's few milliseconds
    assert _first_acks(early) == [0.5, 2.5]
    assert late.evidence.start == early.evidence.start  # the clock moves the ticks, not time zero


def test_without_a_clock_each_seed_draws_one_and_the_file_can_set_it():
    path = resolve("spot-interruption")
    scenario = load_scenario(path)
    a, b = simulate(scenario, seed=1), simulate(scenario, seed=2)
    assert a.options["clock_at_zero"] != b.options["clock_at_zero"]
    assert simulate(scenario, seed=1).options["clock_at_zero"] == a.options["clock_at_zero"]
    text = path.read_text() + "\n[sim]\nclock_at_zero = 1796047401.5\n"
    from_file = simulate(parse_scenario(text, str(path)))
    assert _first_acks(from_file) == [0.5, 2.5]
