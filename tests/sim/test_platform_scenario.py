"""The shipped day on Fargate Spot with autoscaling: it loads, and (slow) it runs and holds."""
import pytest

from emulator.scenario.expectations import judge
from emulator.scenario.library import SHIPPED
from emulator.scenario.loader import load_scenario
from sim.platform_settings import sim_settings
from sim.runner import simulate

DAY = SHIPPED / "autoscale-spot-day.toml"


def test_the_day_is_sim_only_and_its_platform_sections_are_what_the_docs_say():
    scenario = load_scenario(DAY)
    assert scenario.sim_only and scenario.duration_s == 86400
    settings = sim_settings(scenario)
    assert settings.platform.name == "fargate" and settings.platform.instance_id == "stable"
    (policy,) = settings.autoscale
    assert (policy.kind, policy.target, policy.min_replicas, policy.max_replicas) == ("keyvalue", 10, 30, 160)
    assert policy.load.at(15 * 3600) == 1500 and policy.load.at(3 * 3600) == 400
    assert [s.at for s in settings.spot.fixed] == [12 * 3600] and settings.spot.rates[0].per_engine_hour == 0.02
    assert settings.discovery.mode == "fixed"   # a day: no SWIM by default


@pytest.mark.slow
def test_the_day_runs_simulated_and_every_expectation_holds():
    scenario = load_scenario(DAY)
    result = simulate(scenario)
    events = result.evidence.events
    scaled = [e["data"]["replicas_to"] for e in events if e["kind"] == "autoscale.scaled"]
    assert max(scaled) >= 130 and scaled[-1] <= 50          # out for the afternoon, back in at night
    assert sum(1 for e in events if e["kind"] == "engine.spot_warning") >= 30
    verdicts = [judge(x, result.evidence) for x in scenario.expectations]
    assert all(v.passed for v in verdicts), [v for v in verdicts if not v.passed]
