"""The simulated platform end to end: profiles, spot reclaims, autoscaling and SWIM discovery in scenarios."""
import pytest

from emulator.scenario import evidence as E
from emulator.scenario.loader import ScenarioError, parse_scenario
from sim.runner import simulate

BASE = """
[scenario]
name = "platform-test"
description = "a small fleet on a simulated platform, for tests of the platform's behaviour"
seed = 3
duration = "{duration}"

[fleet.vector]
replicas = {replicas}

[discovery]
enabled = false

[defaults.env]
WEFTKIT_PERSIST_SCHEDULE = "*/30 * * * * *"
WEFTKIT_PERSIST_HEALTH_INTERVAL = "0"

[workload.vector]
rate = 2

{extra}

[[expect]]
check = "no_acknowledged_write_lost"
"""


def run(extra: str, duration: str = "10m", replicas: int = 2):
    scenario = parse_scenario(BASE.format(duration=duration, replicas=replicas, extra=extra))
    result = simulate(scenario)
    return result, [e for e in result.evidence.events]


def of(events, kind, subject=None):
    return [e for e in events if e["kind"] == kind and subject in (None, e["subject"])]


def test_a_spot_reclaim_on_fargate_warns_terms_flushes_and_is_replaced_after_a_task_start():
    result, events = run('[sim.platform]\nprofile = "fargate"\ninstance_id = "stable"\n'
                         '[[sim.spot]]\nat = "2m"\nengine = "vector-1"')
    t0 = result.evidence.start
    (warning,) = of(events, "engine.spot_warning", "vector-1")
    assert warning["at"] == pytest.approx(t0 + 120) and warning["data"]["sigkill_in_s"] == 30.0
    stopping = of(events, "engine.stopping", "vector-1")[0]
    stopped = of(events, "engine.stopped", "vector-1")[0]
    assert stopping["at"] == warning["at"]                      # SIGTERM comes with the notice
    assert stopped["data"]["exit_code"] == 0 and stopped["at"] - warning["at"] < 30
    started = [e for e in of(events, "engine.started", "vector-1") if e["at"] > warning["at"]][0]
    assert started["data"]["boot"] == "restored"                # an empty volume: from the store
    assert 5 < started["at"] - stopped["at"] < 300              # a Fargate task start, about a minute
    (recovery,) = [r for r in E.recoveries(result.evidence) if r.cause == "spot"]
    assert recovery.engine == "vector-1" and recovery.seconds == pytest.approx(started["at"] - warning["at"], abs=1e-3)


def test_a_late_sigterm_gets_only_what_is_left_of_the_warning():
    _, events = run('[sim.platform]\nprofile = "fargate"\ninstance_id = "stable"\nspot_term_after_s = 100\n'
                    '[[sim.spot]]\nat = "2m"\nengine = "vector-2"')
    warning = of(events, "engine.spot_warning", "vector-2")[0]
    assert warning["data"] == {"instance_id": "vector-2", "sigterm_in_s": 100.0, "sigkill_in_s": 120.0}
    assert of(events, "engine.stopping", "vector-2")[0]["at"] == pytest.approx(warning["at"] + 100)


def test_spot_at_a_rate_per_engine_hour_is_seeded_and_roughly_that_often():
    extra = '[sim.platform]\nprofile = "aci"\ninstance_id = "stable"\n[[sim.spot]]\nrate_per_engine_hour = 2'
    result, events = run(extra, duration="1h", replicas=4)
    reclaims = of(events, "engine.spot_warning")
    assert 3 <= len(reclaims) <= 16                  # 4 engines x 1 h x 2: 8 expected
    assert all(r["data"]["sigkill_in_s"] == 30.0 for r in reclaims)   # ACI: 30 s notice
    again, _ = run(extra, duration="1h", replicas=4)
    assert again.evidence.to_json() == result.evidence.to_json()
    assert result.evidence.to_json()["recoveries"]


def test_start_delays_follow_the_platform():
    def boot_times(profile):
        _, events = run(f'[sim.platform]\nprofile = "{profile}"\n[[step]]\nat = "1m"\naction = "scale"\n'
                        'kind = "vector"\nreplicas = 8', replicas=1)
        starting = {e["subject"]: e["at"] for e in of(events, "engine.starting") if e["at"] > 10}
        return sorted(e["at"] - starting[e["subject"]] for e in of(events, "engine.started")
                      if e["subject"] in starting)
    fargate, cloud_run = boot_times("fargate"), boot_times("cloud-run")
    assert len(fargate) == len(cloud_run) == 7
    assert 15 < fargate[3] < 80 and cloud_run[3] < 12


def test_kubernetes_keeps_the_volume_and_the_id_across_a_kill():
    _, events = run('[sim.platform]\nprofile = "kubernetes"\n[[step]]\nat = "1m"\naction = "kill"\n'
                    'engine = "vector-1"')
    after = [e for e in of(events, "engine.started", "vector-1")][-1]
    assert after["data"]["instance_id"] == "vector-1" and after["data"]["boot"] != "restored"
    assert of(events, "engine.recycled", "vector-1")[0]["data"]["volume"] == "kept"


AUTOSCALE = """
[sim.platform]
profile = "cloud-run"

[sim.autoscale]
kind = "vector"
target = 10
min_replicas = 2
max_replicas = 12
interval = "1m"
scale_out_cooldown = "1m"
scale_in_cooldown = "5m"
load = [["0m", 20], ["20m", 100], ["40m", 100], ["50m", 20]]
"""


def test_autoscaling_follows_the_load_out_and_back_in_sharing_it_among_the_engines():
    result, events = run(AUTOSCALE, duration="90m")
    scaled = of(events, "autoscale.scaled")
    targets = [e["data"]["replicas_to"] for e in scaled]
    assert max(targets) == 10 and targets[-1] == 2
    outs = [e["at"] for e in scaled if e["data"]["replicas_to"] > e["data"]["replicas_from"]]
    ins = [e["at"] for e in scaled if e["data"]["replicas_to"] < e["data"]["replicas_from"]]
    assert all(b - a >= 60 - 1e-6 for a, b in zip(outs, outs[1:]))      # scale-out cooldown
    assert all(b - a >= 300 - 1e-6 for a, b in zip(ins, ins[1:]))       # scale-in cooldown
    assert min(ins) > max(outs)
    fleet = of(events, "fleet.scaled")
    assert [e["data"]["replicas"] for e in fleet] == targets
    # the engines' writes are the load curve's, shared among them: its integral, 132,000 writes
    # (20 -> 100 over 20 min, 100 for 20 min, 100 -> 20 over 10 min, 20 for 40 min)
    writes = sum(1 for entries in result.evidence.witness.values() for e in entries if "w" in e)
    assert writes == pytest.approx(60 * (20 * 60 + 20 * 100 + 10 * 60 + 40 * 20), rel=0.05)


def test_swim_discovery_detects_a_kill_from_the_heartbeats_and_the_suspicion_timeout():
    text = BASE.format(duration="60s", replicas=1, extra="""
[discovery]
suspicion_timeout_ms = 3000
[platform]
replace_delay_s = 12   # a replacement under the same id sooner would be alive before any verdict
[[step]]
at = "10s"
action = "kill"
engine = "vector-1"
[[expect]]
check = "discovery_failed_within"
engine = "vector-1"
max = "9s"
""").replace("[discovery]\nenabled = false\n", "")
    for mode, low, high in (("swim", 5.0, 6.01), ("fixed", 4.4, 4.6)):
        scenario = parse_scenario(text + f'\n[sim.discovery]\nmode = "{mode}"\n')
        result = simulate(scenario)
        ((_, took),) = E.failure_detections(result.evidence, "vector-1")
        assert low <= took <= high, (mode, took)   # swim: 3 s of heartbeats + 3 s suspicion - phase


@pytest.mark.parametrize("extra, where", [
    ('[sim.platform]\nprofile = "heroku"', "line 22: sim.platform.profile: 'heroku' is not a platform"),
    ('[sim.platform]\nprofile = "fargate"\n[[sim.spot]]\nat = "1h"\nkind = "vector"',
     "line 24: sim.spot.1.at: 3600s is after the scenario's"),
    ('[[sim.spot]]\nat = "1m"\nkind = "vector"', "line 21: sim.spot: the local platform has no spot"),
    ('[sim.platform]\nprofile = "cloud-run"\n[[sim.spot]]\nat = "1m"\nkind = "vector"',
     "sim.spot: the cloud-run platform has no spot capacity"),
    ('[sim.autoscale]\nkind = "graph"\ntarget = 3', "sim.autoscale.kind: must name a kind of the fleet"),
    ('[sim.discovery]\nmode = "gossip"', "sim.discovery.mode: 'gossip' is not one of swim, fixed"),
    ('[sim]\nspot = 3', "sim.spot: must be written as [[sim.spot]] tables"),
    ('[sim.autoscale]\nkind = "vector"\ntarget = 3\nload = 30\n[[step]]\nat = "1m"\naction = "scale"\n'
     'kind = "vector"\nreplicas = 3', "line 28: step.1.kind: vector is autoscaled"),
])
def test_bad_platform_sections_are_refused_at_load_naming_the_key_and_line(extra, where):
    with pytest.raises(ScenarioError) as err:
        parse_scenario(BASE.format(duration="10m", replicas=2, extra=extra))
    assert where in str(err.value)


def test_no_autoscaling_starts_pods_after_the_timeline_so_the_run_ends():
    extra = AUTOSCALE.replace('load = [["0m", 20], ["20m", 100], ["40m", 100], ["50m", 20]]',
                              'load = [["0m", 20], ["9m", 20], ["10m", 120]]')
    result, events = run(extra, duration="10m")
    end = result.evidence.start + 600
    assert not [e for e in events if e["kind"] == "engine.starting" and e["at"] > end]
    assert all(e["at"] <= end - 30 for e in of(events, "autoscale.scaled"))


def test_an_isolated_discovery_node_fails_with_the_engines_it_hosts_on_the_other_side():
    text = BASE.format(duration="60s", replicas=2, extra="""
[discovery]
suspicion_timeout_ms = 3000
[sim.discovery]
nodes = 3
[[step]]
at = "5s"
action = "fault"
target = "discovery"
isolate = ["discovery-2"]
[[step]]
action = "wait"
until = "member_failed"
engine = "vector-2"
timeout = "30s"
""").replace("[discovery]\nenabled = false\n", "")
    result = simulate(parse_scenario(text))
    wait = result.evidence.steps[1]
    assert wait.ok and 5 < wait.ended_s < 30        # vector-2 registered with discovery-2
    last = result.evidence.member_samples[-1][1]
    assert last["discovery-2"] == "failed" and last["discovery-3"] == "alive"


def test_autoscale_as_an_array_of_tables_one_per_kind():
    from sim.platform_settings import sim_settings
    one = '[[sim.autoscale]]\nkind = "vector"\ntarget = 4\nload = 8\n'
    settings = sim_settings(parse_scenario(BASE.format(duration="10m", replicas=2, extra=one)))
    assert [(p.kind, p.target) for p in settings.autoscale] == [("vector", 4.0)]
    with pytest.raises(ScenarioError, match="line 26: sim.autoscale.2.kind: vector is autoscaled twice"):
        parse_scenario(BASE.format(duration="10m", replicas=2, extra=one + one))
