"""The target-tracking policy: pure, time by hand, no I/O."""
import pytest

from sim.autoscale import AutoscalePolicy, AutoscaleState, LoadCurve, decide
from sim.platform import SimConfigError

POLICY = AutoscalePolicy("vector", target=10.0, min_replicas=2, max_replicas=8,
                         scale_out_cooldown_s=60.0, scale_in_cooldown_s=300.0)


def test_desired_capacity_is_the_total_over_the_target_within_the_bounds():
    assert POLICY.desired(35.0, 2) == 4       # ceil(35 / 10)
    assert POLICY.desired(500.0, 4) == 8      # capped at max
    assert POLICY.desired(0.0, 4) == 2        # floored at min
    assert POLICY.desired(40.0, 4) == 4       # exactly on target
    assert POLICY.desired(43.0, 4) == 4       # inside the 10 % tolerance: leave it
    assert POLICY.desired(45.0, 4) == 5       # outside it


def test_scale_out_then_its_cooldown_then_scale_out_again():
    state = AutoscaleState()
    decision, state, _ = decide(POLICY, state, 100.0, 35.0, 2)
    assert (decision.replicas_from, decision.replicas_to) == (2, 4)
    assert decision.metric_per_engine == pytest.approx(17.5)
    decision, state2, why = decide(POLICY, state, 130.0, 70.0, 4)
    assert decision is None and "scale-out cooldown until 160s" in why and state2 == state
    decision, state, _ = decide(POLICY, state, 160.0, 70.0, 4)
    assert decision.replicas_to == 7 and state.last_out == 160.0


def test_scale_in_waits_for_its_cooldown_after_any_scaling():
    state = AutoscaleState(last_out=100.0)
    decision, _, why = decide(POLICY, state, 200.0, 10.0, 6)
    assert decision is None and "scale-in cooldown until 400s" in why
    decision, state, _ = decide(POLICY, state, 400.0, 10.0, 6)
    assert (decision.replicas_from, decision.replicas_to) == (6, 2)
    assert state.last_in == 400.0
    decision, _, why = decide(POLICY, state, 500.0, 0.0, 3)   # a second scale in waits again
    assert decision is None and "until 700s" in why
    decision, _, _ = decide(POLICY, state, 450.0, 80.0, 2)    # scale out is not held by it
    assert decision.replicas_to == 8


def test_pods_still_starting_count_as_capacity():
    decision, _, _ = decide(POLICY, AutoscaleState(), 0.0, 40.0, replicas=4, running=2)
    assert decision is None   # 4 asked for, 2 serving: the per-engine metric is high, but on its way


def test_load_curve_is_piecewise_linear_with_exact_means():
    curve = LoadCurve.from_value([["0h", 100], ["2h", 300], ["4h", 300]], "load")
    assert curve.at(0) == 100 and curve.at(3600) == pytest.approx(200) and curve.at(10 ** 6) == 300
    assert curve.mean(0, 7200) == pytest.approx(200)
    assert curve.mean(3600, 3 * 3600) == pytest.approx((250 + 300) / 2)
    assert LoadCurve.from_value(50, "load").at(123) == 50


@pytest.mark.parametrize("table, key, words", [
    ({"target": 5}, "sim.autoscale.kind", "kind of the fleet"),
    ({"kind": "nosql", "target": 5}, "sim.autoscale.kind", "the fleet has vector"),
    ({"kind": "vector", "target": 0}, "sim.autoscale.target", "positive"),
    ({"kind": "vector", "target": 5, "metric": "cpu"}, "sim.autoscale.metric", "writes_per_s"),
    ({"kind": "vector", "target": 5, "min_replicas": 4, "max_replicas": 2},
     "sim.autoscale.max_replicas", "below min_replicas"),
    ({"kind": "vector", "target": 5, "scale_in_cooldown": "soon"},
     "sim.autoscale.scale_in_cooldown", "duration"),
    ({"kind": "vector", "target": 5, "load": [["1h", 5], ["0h", 6]]}, "sim.autoscale.load.2",
     "increase"),
    ({"kind": "vector", "target": 5, "cooldown": 3}, "sim.autoscale.cooldown", "unknown key"),
    ({"kind": "vector", "target": 5}, "sim.autoscale.load", "required"),
])
def test_bad_tables_name_the_key(table, key, words):
    with pytest.raises(SimConfigError) as err:
        AutoscalePolicy.from_table(table, kinds=("vector",))
    assert str(err.value).startswith(key + ":") and words in str(err.value)


def test_a_table_with_every_key():
    policy = AutoscalePolicy.from_table(
        {"kind": "vector", "target": 50, "min_replicas": 1, "max_replicas": 40, "interval": "30s",
         "scale_out_cooldown": "1m", "scale_in_cooldown": "5m", "tolerance": 0.05,
         "load": [["0h", 200], ["12h", 1500]]}, kinds=("vector",))
    assert (policy.interval_s, policy.scale_out_cooldown_s, policy.scale_in_cooldown_s) == (30, 60, 300)
    assert policy.load.at(6 * 3600) == pytest.approx(850)
