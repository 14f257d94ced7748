"""Verdicts on recorded evidence, including a scenario built to fail (pure)."""
from __future__ import annotations

from emulator.scenario.expectations import judge
from emulator.scenario.loader import parse_scenario
from emulator.scenario.report import build_report, summary

from .recorded import ack, boot, event, evidence, function, step, write

SCENARIO = '''\
[scenario]
name = "built-to-fail"
description = "A kill that loses acknowledged writes, and bounds it cannot meet."
duration = "60s"

[fleet.relational]
replicas = 1

[[step]]
at = "10s"
action = "kill"
engine = "relational-1"

[[expect]]
check = "no_acknowledged_write_lost"

[[expect]]
check = "writes_lost"
max = 2

[[expect]]
check = "data_at_risk"
max = "3s"

[[expect]]
check = "recovery_time"
max = "2s"

[[expect]]
check = "count"
of = "status_409"
max = 0

[[expect]]
check = "no_function_5xx"

[[expect]]
check = "exit_code"
engine = "relational-1"
code = 0
'''


def losing_run():
    return evidence(
        events=[event("engine.started", "relational-1", -1, instance_id="relational-1"),
                event("engine.killed", "relational-1", 10.0, exit_code=-9),
                event("engine.started", "relational-1", 14.5, instance_id="relational-1")],
        steps=[step(1, "kill", 10.0, ["relational-1"])],
        witness={"relational-1": (write(1, 1), write(2, 2), ack(2, 3), write(3, 4), ack(3, 9.5))},
        recoveries={"relational-1": (boot(14.4, lost=5, lost_acknowledged=1, mismatched=0),)},
        function_samples=[function(0, {200: 0}), function(60, {200: 3, 409: 2, 503: 1})])


def test_a_scenario_built_to_fail_fails_with_the_measured_numbers():
    scenario = parse_scenario(SCENARIO)
    report = build_report(scenario, losing_run(), runner="recorded", wall_s=0)
    assert report["passed"] is False
    verdicts = {v["check"]: v for v in report["expectations"]}
    assert verdicts["no_acknowledged_write_lost"]["measured"] == 1
    assert verdicts["writes_lost"]["measured"] == 5 and not verdicts["writes_lost"]["passed"]
    assert verdicts["data_at_risk"]["measured"] == 5.5 and not verdicts["data_at_risk"]["passed"]
    assert verdicts["recovery_time"]["measured"] == 4.5 and not verdicts["recovery_time"]["passed"]
    assert verdicts["count"]["measured"] == 2 and not verdicts["count"]["passed"]
    assert verdicts["no_function_5xx"]["measured"] == 1 and not verdicts["no_function_5xx"]["passed"]
    assert verdicts["exit_code"]["measured"] == -9 and not verdicts["exit_code"]["passed"]
    text = summary(report)
    assert "scenario built-to-fail: FAILED" in text
    assert "FAIL  writes_lost(max=2): measured 5, wanted <= 2" in text
    assert "FAIL  recovery_time(max=2.0): measured 4.5, wanted <= 2s" in text


def test_the_same_expectations_pass_on_a_clean_run():
    clean = evidence(
        events=[event("engine.killed", "relational-1", 10.0, exit_code=-9),
                event("engine.started", "relational-1", 11.5),
                event("engine.stopped", "relational-1", 59, exit_code=0)],
        steps=[step(1, "kill", 10.0, ["relational-1"])],
        witness={"relational-1": (write(1, 1), ack(1, 2), write(2, 3), ack(2, 5))},
        recoveries={"relational-1": (boot(11.4, lost=1),)},
        function_samples=[function(0, {200: 0}), function(60, {200: 3})])
    report = build_report(parse_scenario(SCENARIO), clean, runner="recorded", wall_s=0)
    assert [v["passed"] for v in report["expectations"]] == [True] * 7
    assert report["passed"] is True


def test_nothing_to_measure_is_a_failure_not_a_pass():
    scenario = parse_scenario(SCENARIO)
    empty = evidence(steps=[step(1, "kill", 10.0, ["relational-1"])])
    verdicts = [judge(x, empty) for x in scenario.expectations]
    by_check = {v.check: v for v in verdicts}
    assert not by_check["no_acknowledged_write_lost"].passed
    assert "nothing was checked" in by_check["no_acknowledged_write_lost"].detail
    assert not by_check["data_at_risk"].passed and by_check["data_at_risk"].measured is None
    assert not by_check["recovery_time"].passed
    assert "never exited" in by_check["exit_code"].detail


def test_a_failed_step_fails_the_run_whatever_the_expectations():
    scenario = parse_scenario(SCENARIO.split("[[expect]]")[0])
    ev = evidence(steps=[step(1, "kill", 10.0, ok=False)])
    report = build_report(scenario, ev, runner="recorded", wall_s=0)
    assert report["passed"] is False and report["expectations"] == []


def test_scoped_counts_read_the_witnesses():
    text = SCENARIO.split("[[expect]]")[0] + '''
[[expect]]
check = "count"
of = "pushes"
engine = "relational-1"
min = 2

[[expect]]
check = "count"
of = "restores"
kind = "relational"
min = 1
max = 1
'''
    report = build_report(parse_scenario(text), losing_run(), runner="recorded", wall_s=0)
    assert [(v["measured"], v["passed"]) for v in report["expectations"]] == [(2, True), (1, True)]
    assert report["engines"]["relational-1"]["bytes_pushed"] == 200
