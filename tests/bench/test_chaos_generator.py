"""The chaos campaign: schedules from seeds, losses explained by rule (pure), and one schedule end to end."""
from __future__ import annotations

import pytest

from bench import _chaos_judge as J
from bench import _chaos_schedule as C
from emulator.scenario.evidence import Evidence, StepRecord


def test_a_seed_gives_the_same_schedule_and_seeds_differ():
    assert C.draw(42).toml == C.draw(42).toml
    assert len({C.draw(s).toml for s in range(50)}) == 50


def test_every_generated_schedule_passes_the_scenario_loader():
    names = set()
    for seed in range(200):
        schedule = C.draw(seed)
        scenario = C.scenario(schedule)          # raises ScenarioError naming key and line
        actions = [s.action for s in scenario.steps]
        names |= {m.name for m in schedule.moves}
        assert schedule.checked, f"schedule {seed} checks no kind"
        assert actions.count("recycle") >= len(schedule.checked)
        for engine in schedule.killed:            # a killed engine's kind is recycled in the tail
            assert engine.split("-")[0] in schedule.checked
        checks = {x.check for x in scenario.expectations}
        assert "no_acknowledged_write_lost" in checks
        assert ("writes_lost" in checks) == (not schedule.may_lose)
    assert names == set(C.FAULT_NAMES)            # the whole menu is drawn over 200 seeds
    C.scenario(C.audit(7))


def _evidence(events, steps=(), boots=()):
    return Evidence(start=100.0, end=200.0, events=tuple(events), steps=tuple(steps),
                    recoveries={"vector-1": tuple(boots)})


def _boot(at, lost=3):
    return {"at": at, "boot": "restored", "lost_count": lost, "lost_acknowledged": 0,
            "lost": [{"lsn": 10, "key": "k", "op": "put"}], "last_acknowledged_lsn": 9}


def _scenario_with(fault_toml: str):
    schedule = C.draw(0)
    text = schedule.toml.split("[[step]]")[0] + fault_toml
    from emulator.scenario.loader import parse_scenario
    return parse_scenario(text)


def test_losses_after_a_kill_are_allowed_and_after_a_clean_exit_are_a_finding():
    scenario = _scenario_with('[[step]]\nat = "1s"\naction = "kill"\nengine = "vector-1"\n')
    killed = {"kind": "engine.killed", "subject": "vector-1", "at": 110.0, "data": {"exit_code": -9}}
    out = J.assess(scenario, _evidence([killed], boots=[_boot(112.0)]), [])
    assert out.lost == {"sigkill": 3, "unflushed_stop": 0, "other": 0} and not out.findings
    clean = {"kind": "engine.stopped", "subject": "vector-1", "at": 110.0, "data": {"exit_code": 0}}
    out = J.assess(scenario, _evidence([clean], boots=[_boot(112.0)]), [])
    assert out.lost["other"] == 3 and "lost 3 write(s)" in out.findings[0]


def test_an_unflushed_stop_is_allowed_only_while_a_fault_refused_the_pushes():
    scenario = _scenario_with('[[step]]\nat = "1s"\naction = "fault"\ntarget = "store"\nkind = "outage"\n'
                              '[[step]]\nat = "5s"\naction = "clear_faults"\n')
    steps = [StepRecord(1, "fault", "", 1, 1, 1, True), StepRecord(2, "clear_faults", "", 5, 5, 5, True)]
    stop = [{"kind": "engine.stopping", "subject": "vector-1", "at": 102.0},
            {"kind": "engine.stopped", "subject": "vector-1", "at": 104.0, "data": {"exit_code": 3}}]
    out = J.assess(scenario, _evidence(stop, steps, [_boot(106.0)]), [])
    assert out.lost["unflushed_stop"] == 3 and not out.findings
    refused = {"kind": "engine.failed", "subject": "vector-1", "at": 105.0, "data": {"exit_code": 4}}
    out = J.assess(scenario, _evidence(stop + [refused], steps, [_boot(108.0)]), [])
    assert out.lost["unflushed_stop"] == 3 and out.refused_boots == 1 and not out.findings
    later = [dict(e, at=e["at"] + 10) for e in stop]   # the same exit after the fault was cleared
    out = J.assess(scenario, _evidence(later, steps, [_boot(116.0)]), [])
    assert out.lost["other"] == 3 and "no fault refused" in out.findings[0]


def test_crashes_failed_steps_and_engines_left_down_are_findings():
    scenario = _scenario_with('[[step]]\nat = "1s"\naction = "recycle"\nengine = "vector-1"\n')
    crashed = {"kind": "engine.crashed", "subject": "vector-1", "at": 101.0,
               "data": {"exit_code": 4, "message": "restore failed"}}
    steps = [StepRecord(1, "recycle", "recycle engine=vector-1", 1, 1, 2, False, (), "409 busy")]
    out = J.assess(scenario, _evidence([crashed], steps), [{"name": "vector-1", "state": "failed"}])
    text = "\n".join(out.findings)
    kill = StepRecord(2, "kill", "kill engine=vector-1", 2, 2, 2, False, (), "vector-1 is not running (failed)")
    assert J.assess(scenario, _evidence([], [kill]), []).kills_without_target == 1
    assert "crashed (exit 4)" in text and "step 1" in text and "vector-1 is failed" in text


def test_a_boot_that_refuses_to_serve_during_a_function_outage_is_not_a_finding():
    scenario = _scenario_with('[[step]]\nat = "1s"\naction = "fault"\ntarget = "function"\nkind = "outage"\n'
                              '[[step]]\nat = "5s"\naction = "clear_faults"\n')
    steps = [StepRecord(1, "fault", "", 1, 1, 1, True), StepRecord(2, "clear_faults", "", 5, 5, 5, True)]
    failed = {"kind": "engine.failed", "subject": "vector-1", "at": 103.0,
              "data": {"exit_code": 4, "message": "cannot restore"}}
    out = J.assess(scenario, _evidence([failed], steps), [])
    assert out.refused_boots == 1 and not any("vector-1 failed" in f for f in out.findings)
    out = J.assess(scenario, _evidence([dict(failed, at=107.0)], steps), [])
    assert any("vector-1 failed (exit 4)" in f for f in out.findings)


@pytest.mark.slow
def test_one_schedule_end_to_end_kill_then_recycle():
    """Seed 31: relational-1 killed with SIGKILL, then its kind recycled; on a fresh emulator."""
    from bench import chaos
    schedule = C.draw(31)
    assert [m.name for m in schedule.moves] == ["kill"] and schedule.checked == ("relational",)
    assert chaos.main(["--replay", "31", "--timeout", "180"]) == 0
