"""The simulated platform: profiles, overrides, the live replace policy, spot plans. Pure."""
import math
import random

import pytest

from emulator.platforms.profiles import engine_profile
from emulator.supervisor.config import PlatformConfig
from emulator.supervisor.policy import CRASHED, FAILED, KILLED, STOPPED, PodExit
from sim.platform import SimConfigError, SimPlatform, SpotPlan, pod_rng


def test_without_a_sim_platform_the_emulators_own_platform_is_played():
    live = PlatformConfig(recycle_volume="keep", instance_id="new", stop_grace_s=12.0,
                          replace_delay_s=4.0)
    platform = SimPlatform.from_table(None, live)
    assert (platform.name, platform.volume, platform.instance_id) == ("local", "kept", "new")
    assert platform.live_config() == live
    assert platform.start_delay_s(random.Random(1)) == 0.0
    assert platform.stop().sigkill == 12.0


@pytest.mark.parametrize("name, grace, volume, ids", [
    ("fargate", 30.0, "ephemeral", "new"), ("cloud-run", 10.0, "ephemeral", "new"),
    ("aci", 30.0, "ephemeral", "new"), ("kubernetes", 30.0, "kept", "stable")])
def test_profiles_give_their_grace_volume_and_ids(name, grace, volume, ids):
    platform = SimPlatform.from_table({"profile": name})
    assert (platform.stop_grace_s, platform.volume, platform.instance_id) == (grace, volume, ids)
    assert platform.start_delay == engine_profile(name).start_delay


def test_start_delays_follow_the_profiles_distribution():
    fargate = SimPlatform.from_table({"profile": "fargate"})
    cloud_run = SimPlatform.from_table({"profile": "cloud-run"})
    rng = random.Random(5)
    draws = sorted(fargate.start_delay_s(rng) for _ in range(4000))
    assert draws[2000] == pytest.approx(35.0, rel=0.05)           # the median
    assert draws[3600] == pytest.approx(60.0, rel=0.07)           # the 90th percentile
    quick = sorted(cloud_run.start_delay_s(rng) for _ in range(4000))
    assert quick[2000] == pytest.approx(4.0, rel=0.05) and max(quick) < draws[2000] * 3


def test_overrides_apply_and_a_new_median_keeps_the_spread():
    platform = SimPlatform.from_table({"profile": "fargate", "start_delay_median_s": 70,
                                       "stop_grace_s": 120, "volume": "kept",
                                       "replace_delay_s": 5})
    assert platform.start_delay.median_s == 70 and platform.start_delay.p90_s == pytest.approx(120)
    assert (platform.stop_grace_s, platform.volume, platform.replace_delay_s) == (120, "kept", 5)


def test_the_live_replace_policy_decides_what_follows_an_exit():
    fargate = SimPlatform.from_table({"profile": "fargate", "replace_delay_s": 20})
    killed = fargate.after_exit(PodExit(KILLED))
    assert killed.replace and killed.delay_s == 20 and killed.wipe_volume
    assert not fargate.after_exit(PodExit(STOPPED)).replace
    assert fargate.after_exit(PodExit(CRASHED), shutting_down=True).replace is False
    kube = SimPlatform.from_table({"profile": "kubernetes"})
    assert not kube.after_exit(PodExit(KILLED)).wipe_volume
    retry = kube.after_exit(PodExit(FAILED, exit_code=1, boot_failures=3))
    assert retry.replace and retry.delay_s == 4.0   # the floor of 1 s, doubled twice
    assert not kube.after_exit(PodExit(FAILED, exit_code=2)).replace
    assert fargate.wipes_volume("recycle") and not fargate.wipes_volume("restart")
    assert fargate.instance_id_env("vector-1") is None and kube.instance_id_env("vector-1") == "vector-1"


def test_a_spot_reclaim_warns_sends_sigterm_and_kills_at_the_end_of_warning_or_grace():
    fargate = SimPlatform.from_table({"profile": "fargate"})
    stop = fargate.spot_stop()
    assert (stop.notice, stop.sigterm, stop.sigkill) == (0.0, 0.0, 30.0)    # grace ends first
    late = SimPlatform.from_table({"profile": "fargate", "spot_term_after_s": 100})
    assert (late.spot_stop().sigterm, late.spot_stop().sigkill) == (100.0, 120.0)  # capacity gone
    with pytest.raises(SimConfigError, match="cloud-run platform has no spot"):
        SimPlatform.from_table({"profile": "cloud-run"}).spot_stop()


@pytest.mark.parametrize("table, key, words", [
    ({"profile": "heroku"}, "sim.platform.profile", "fargate, cloud-run, aci, kubernetes"),
    ({"profile": "fargate", "volume": "disk"}, "sim.platform.volume", "ephemeral, kept"),
    ({"profile": "fargate", "stop_grace_s": 0}, "sim.platform.stop_grace_s", "positive"),
    ({"profile": "fargate", "start_delay_median_s": "1m"}, "sim.platform.start_delay_median_s",
     "number"),
    ({"profile": "fargate", "start_delay_median_s": 10, "start_delay_p90_s": 5},
     "sim.platform.start_delay_p90_s", "at least"),
    ({"profile": "aci", "spot_term_after_s": 60}, "sim.platform.spot_term_after_s", "exceed"),
    ({"grace": 3}, "sim.platform.grace", "unknown key"),
])
def test_bad_platform_tables_name_the_key(table, key, words):
    with pytest.raises(SimConfigError) as err:
        SimPlatform.from_table(table)
    assert str(err.value).startswith(key + ":") and words in str(err.value)


def test_spot_plans_fixed_and_random():
    plan = SpotPlan.from_tables([{"at": "2h", "kind": "vector", "count": 2},
                                 {"at": "1h", "engine": "relational-1"},
                                 {"rate_per_engine_hour": 0.5, "kind": "vector", "until": "10h"}],
                                duration=86400, kinds=("vector", "relational"))
    assert [s.at for s in plan.fixed] == [3600, 7200]
    running = ["relational-1", "vector-1", "vector-2", "vector-3"]
    kind_of = lambda e: e.rsplit("-", 1)[0]
    assert plan.targets(plan.fixed[1], running, kind_of) == ["vector-1", "vector-2"]
    assert plan.reclaim_at("relational", 0.0, random.Random(1)) is None
    draws = [plan.reclaim_at("vector", 0.0, pod_rng(3, "spot", "vector-1", g)) for g in range(2000)]
    within = [d for d in draws if d is not None]
    # P(reclaimed within 10 h at 0.5 per hour) = 1 - e^-5; mean given that, about 2 h
    assert len(within) / len(draws) == pytest.approx(1 - math.exp(-5), abs=0.01)
    assert sum(within) / len(within) == pytest.approx(7200, rel=0.06)
    assert pod_rng(3, "spot", "vector-1", 7).random() == pod_rng(3, "spot", "vector-1", 7).random()


@pytest.mark.parametrize("tables, key, words", [
    ([{"at": "1h"}], "sim.spot.1", "engine (one engine) or kind"),
    ([{"kind": "vector"}], "sim.spot.1", "either at"),
    ([{"at": "2d", "kind": "vector"}], "sim.spot.1.at", "after the scenario's duration"),
    ([{"at": "1h", "kind": "graph"}], "sim.spot.1.kind", "not in the fleet"),
    ([{"at": "1h", "kind": "vector", "count": 0}], "sim.spot.1.count", ">= 1"),
    ([{"rate_per_engine_hour": 1, "engine": "vector-1"}], "sim.spot.1.engine", "goes with at"),
    ([{"rate_per_engine_hour": 1, "from": "2h", "until": "1h"}], "sim.spot.1.until", "after from"),
    ([{"at": "1h", "kind": "vector", "why": 1}], "sim.spot.1.why", "unknown key"),
])
def test_bad_spot_tables_name_the_entry_and_key(tables, key, words):
    with pytest.raises(SimConfigError) as err:
        SpotPlan.from_tables(tables, duration=86400, kinds=("vector",))
    assert str(err.value).startswith(key + ":") and words in str(err.value)


def test_spot_on_a_platform_without_spot_is_refused():
    with pytest.raises(SimConfigError, match="sim.spot: the kubernetes platform has no spot"):
        SpotPlan.from_tables([{"at": "1h", "kind": "vector"}],
                             platform=SimPlatform.from_table({"profile": "kubernetes"}))
