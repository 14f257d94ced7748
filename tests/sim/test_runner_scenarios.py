"""Every shipped scenario runs simulated and its expectations hold; runs are deterministic.

The simulator runs the same files as the live runner and hands its evidence
to the same pure verdicts (emulator/scenario/expectations.py), so these are
the live scenarios' own expectations judging the model.
"""
from __future__ import annotations

import json

import pytest

from emulator.scenario.library import shipped
from emulator.scenario.loader import load_scenario, parse_scenario
from emulator.scenario.report import build_report
from sim.runner import simulate

# The scenarios a live stack runs too (sim-only ones, like month-at-scale's thousand engines for
# thirty days, are the benches' and their own tests'); a scaled-down month is below.
LIVE_SIZED = [p for p in shipped() if not load_scenario(p).sim_only]


@pytest.mark.parametrize("path", LIVE_SIZED, ids=lambda p: p.stem)
def test_each_shipped_scenario_passes_simulated(path):
    scenario = load_scenario(path)
    run = simulate(scenario)
    report = build_report(scenario, run.evidence, runner="simulated", wall_s=None)
    failed = [v for v in report["expectations"] if not v["passed"]]
    assert report["passed"], (failed, [t for t in report["timeline"] if not t["ok"]])
    assert run.wall_s < 5  # simulated, a scenario takes well under a second


def _evidence_bytes(run) -> str:
    return json.dumps(run.evidence.to_json(), sort_keys=True, default=str)


def test_same_file_and_seed_give_identical_evidence_and_another_seed_does_not():
    scenario = load_scenario(next(p for p in LIVE_SIZED if p.stem == "throttling"))
    first, again = simulate(scenario), simulate(scenario)
    assert _evidence_bytes(first) == _evidence_bytes(again)
    assert first.counts == again.counts
    other = simulate(scenario, seed=scenario.seed + 1)
    assert _evidence_bytes(other) != _evidence_bytes(first)  # throttling's rate = 0.5 draws differ


MONTH_SMALL = """
[scenario]
name = "month-small"
description = "Twelve engines for three days with a recycle and an outage."
seed = 4
duration = "3d"

[sim.fleet]
relational = 6
keyvalue = 6

[discovery]
enabled = false

[defaults.env]
WEFTKIT_PERSIST_SCHEDULE = "*/15 * * * *"
WEFTKIT_PERSIST_HEALTH_INTERVAL = "0"

[workload.relational]
rate = 2

[workload.keyvalue]
rate = 5

[[step]]
at = "1d"
action = "recycle"
kind = "keyvalue"
rolling = true

[[step]]
at = "2d"
action = "fault"
target = "function"
kind = "error"
status = 503
paths = ["/persist"]

[[step]]
after = "20m"
action = "clear_faults"

[[expect]]
check = "no_acknowledged_write_lost"

[[expect]]
check = "data_at_risk"
max = "45m"

[[expect]]
check = "count"
of = "status_5xx"
min = 1
"""


def test_days_of_a_small_fleet_at_the_default_schedule():
    scenario = parse_scenario(MONTH_SMALL, "month-small.toml")
    run = simulate(scenario)
    report = build_report(scenario, run.evidence, runner="simulated", wall_s=None)
    assert report["passed"], report["expectations"]
    # 12 engines x 4 pushes an hour x 72 h, give or take the edges and the outage's retries
    pushes = report["function"]["counts"]["pushes"]
    assert 12 * 4 * 72 - 60 <= pushes <= 12 * 4 * 72 + 60
    c = run.counts
    assert c["pushes"] == pushes and c["store_calls"]["PUT"] >= pushes
    assert c["store_gb_months"] > 0 and c["function_busy_s"] > 0
    assert c["engine_seconds"]["keyvalue"] == pytest.approx(6 * 3 * 86400, rel=0.01)
    assert run.options["witness"] == "batches"  # 2 million writes: one witness entry per push


def test_the_month_at_scale_file_passes_scaled_down_when_its_outage_swallows_a_tick():
    # The shipped month, 20 engines for 21 hours, its steps moved from days 10 and 20 to hours 10
    # and 20, on a clock whose quarter-hour tick falls 5 minutes into the outage (time zero at a
    # wall time of 600 s past a quarter hour: 20 h + 300 s is then a multiple of 900 s), as one
    # does in the seed's month: that tick's push fails its retries and buffers, and the writes
    # made just before the outage wait two periods. The file's own expectations judge the run.
    path = next(p for p in shipped() if p.stem == "month-at-scale")
    text = path.read_text()
    for old, new in (('duration = "30d"', 'duration = "21h"'), ('at = "10d"', 'at = "10h"'),
                     ('at = "20d"', 'at = "20h"'), ("relational = 400", "relational = 8"),
                     ("document = 200", "document = 4"), ("keyvalue = 200", "keyvalue = 4"),
                     ("vector = 200", "vector = 4")):
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    scenario = parse_scenario(text, "month-at-scale-small.toml")
    run = simulate(scenario, clock_at_zero=1_800_000_600.0)  # 1_800_000_000 is a multiple of 900
    report = build_report(scenario, run.evidence, runner="simulated", wall_s=None)
    assert report["passed"], [v for v in report["expectations"] if not v["passed"]]
    risk = next(v for v in report["expectations"] if v["check"] == "data_at_risk")
    assert 1800 <= risk["measured"] <= 31 * 60, risk  # two periods and the push: the bound is met, not loose
    assert report["function"]["counts"]["status_5xx"] > 0  # the outage answered
