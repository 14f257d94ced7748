"""The scenario loader: every error names the file, the line and the key, before anything runs."""
from __future__ import annotations

import pytest

from emulator.scenario.library import SHIPPED, shipped
from emulator.scenario.loader import ScenarioError, load_scenario, parse_scenario

BASE = '''\
[scenario]
name = "demo"
description = "kill a vector replica"
seed = 7
duration = "30s"

[fleet.vector]
replicas = 2

[workload.vector]
rate = 5

[[step]]
at = "5s"
action = "kill"
engine = "vector-2"

[[step]]
after = "2s"
action = "fault"
target = "function"
kind = "error"
status = 503
count = 3

[[expect]]
check = "recovery_time"
engine = "vector-2"
max = "20s"
'''


def error_of(text: str) -> str:
    with pytest.raises(ScenarioError) as info:
        parse_scenario(text, "demo.toml")
    return str(info.value)


def test_a_valid_file_becomes_steps_expectations_and_a_config():
    s = parse_scenario(BASE, "demo.toml")
    assert (s.name, s.seed, s.duration_s) == ("demo", 7, 30.0)
    assert [(x.index, x.action, x.at_s, x.after_s) for x in s.steps] == [(1, "kill", 5.0, None),
                                                                        (2, "fault", None, 2.0)]
    assert dict(s.steps[1].params["fault"]) == {"target": "function", "kind": "error", "status": 503,
                                                "count": 3}
    assert s.expectations[0].scope == ("engine", "vector-2")
    assert s.config.fleet["vector"].replicas == 2
    # the seed reaches the workload generator and the function's fault decisions
    assert s.config.fleet["vector"].env["WEFTKIT_ENGINE_WORKLOAD_SEED"] == "7"
    assert s.config.fault_seed == 7


@pytest.mark.parametrize("change, expected", [
    (("[scenario]", "[scenario]\nfoo = 1"), "demo.toml, line 2: scenario.foo: unknown key"),
    (("[fleet.vector]", "[emulator]\ncontrol_port = 1\n[fleet.vector]"),
     "emulator: is set by the scenario runner"),
    (("[fleet.vector]", "[nonsense]\n[fleet.vector]"), "nonsense: unknown table"),
    (('duration = "30s"', 'duration = "soon"'), "line 5: scenario.duration: must be a duration"),
    (("replicas = 2", "replicas = -2"), "line 8: fleet.vector.replicas: must be an integer >= 0"),
    (("rate = 5", "rate = -5"), "line 11: workload.vector.rate: must be writes per second"),
    (('engine = "vector-2"\n\n[[step]]', 'engine = "vector-3"\n\n[[step]]'),
     "line 16: step.1.engine: vector-3 does not exist at this step: vector has 2 replica(s) then "
     "(vector-1, vector-2)"),
    (('engine = "vector-2"\n\n[[step]]', 'engine = "vectr-2"\n\n[[step]]'),
     "line 16: step.1.engine: must be an engine name like vector-1"),
    (('action = "kill"', 'action = "explode"'), "line 15: step.1.action: needs `action`, one of"),
    (('at = "5s"', 'at = "50s"'), "line 14: step.1.at: starts at 50s, after the scenario's duration (30s)"),
    (('after = "2s"', 'at = "1s"'), "line 19: step.2.at: at = 1s is before the previous step's time (5s)"),
    (("status = 503", "status = 200"), "line 18: step.2: fault: status must be a 4xx or 5xx code"),
    (("count = 3", "count = 3\nflavour = 1"), "line 25: step.2.flavour: unknown key"),
    (('max = "20s"', 'max = "fast"'), "line 29: expect.1.max: must be a duration"),
    (('check = "recovery_time"\nengine = "vector-2"', 'check = "recovery_time"\nengine = "vector-1"'),
     "line 26: expect.1: recovery_time: no kill, recycle or restart step touches vector-1"),
    (('check = "recovery_time"\nengine = "vector-2"', 'check = "recovery_time"\nengine = "graph-1"'),
     "line 28: expect.1.engine: graph-1 never runs in this scenario, so there is nothing to measure"),
    (('check = "recovery_time"', 'check = "vibes"'), "line 27: expect.1.check: needs `check`"),
    (('max = "20s"', 'max = "20s"\nmin = 3'), "expect.1.min: unknown key"),
])
def test_errors_name_the_line_and_the_key(change, expected):
    old, new = change
    assert old in BASE
    assert expected in error_of(BASE.replace(old, new, 1))


def test_a_timeline_over_an_hour_loads_as_sim_only_and_the_live_runner_names_its_line():
    from emulator.scenario.loader import require_live
    s = parse_scenario(BASE.replace('duration = "30s"', 'duration = "2h"', 1), "demo.toml")
    assert s.duration_s == 7200.0
    with pytest.raises(ScenarioError) as info:
        require_live(s)
    assert "line 5: scenario.duration" in str(info.value) and "--sim" in str(info.value)


def test_rules_that_tie_keys_together():
    tail = '\n[[step]]\nat = "10s"\naction = "{}"\n{}\n'
    assert "takes `at` or `after`, not both" in error_of(BASE + '\n[[step]]\nat = "10s"\nafter = "1s"\naction = "reset"\n')
    assert "needs exactly one of engine or kind" in error_of(BASE + tail.format("recycle", ""))
    assert "a rolling recycle names a kind" in error_of(
        BASE + tail.format("recycle", 'engine = "vector-1"\nrolling = true'))
    assert 'until = "engine_running" needs `engine`' in error_of(
        BASE + tail.format("wait", 'until = "engine_running"'))
    assert "durable_lsn goes with until" in error_of(
        BASE + tail.format("wait", 'until = "engine_running"\nengine = "vector-1"\ndurable_lsn = 3'))
    assert "uses discovery, which this scenario disables" in error_of(
        BASE.replace("[fleet.vector]", "[discovery]\nenabled = false\n[fleet.vector]")
        + tail.format("wait", 'until = "member_failed"\nengine = "vector-1"'))
    assert "no vector engine runs at this step" in error_of(
        BASE + tail.format("scale", 'kind = "vector"\nreplicas = 0')
        + '\n[[step]]\naction = "recycle"\nkind = "vector"\n')
    assert "needs `min`, `max` or both" in error_of(BASE + '\n[[expect]]\ncheck = "count"\nof = "pushes"\n')
    assert "only pushes, restores can be counted per engine" in error_of(
        BASE + '\n[[expect]]\ncheck = "count"\nof = "status_409"\nengine = "vector-1"\nmax = 1\n')
    assert "min 5 is above max 1" in error_of(
        BASE + '\n[[expect]]\ncheck = "count"\nof = "pushes"\nmin = 5\nmax = 1\n')
    assert "an engine fault takes engine and one of" in error_of(
        BASE + tail.format("fault", 'target = "engine"\nengine = "vector-1"'))


def test_scaled_engines_exist_after_the_scale_step():
    text = BASE + '\n[[step]]\nat = "10s"\naction = "scale"\nkind = "vector"\nreplicas = 4\n' \
                  '\n[[step]]\naction = "kill"\nengine = "vector-4"\n'
    assert parse_scenario(text).steps[-1].params["engine"] == "vector-4"
    assert "vector-4 does not exist" in error_of(text.replace("replicas = 4", "replicas = 3"))


def test_toml_syntax_errors_carry_tomllibs_position():
    assert "demo.toml: not valid TOML: " in error_of("[scenario\n")
    assert "(at line 1, column 10)" in error_of("[scenario\n")


def test_every_shipped_scenario_loads_and_says_what_it_demonstrates():
    files = shipped()
    assert len(files) >= 11, SHIPPED
    for path in files:
        s = load_scenario(path)
        assert s.name == path.stem
        assert len(s.description.split()) >= 20, f"{path.name}: the description says too little"
        assert (s.sim_only or s.duration_s <= 120) and s.expectations  # sim-only: days, months
