"""Discovery in the simulator: the real SWIM core on SimPy time, and its analytic detection times."""
from dataclasses import replace

import pytest
import simpy

from emulator.membership import Status
from sim.discovery import SimDiscovery, detection_experiment, params_from
from sim.swim_cluster import FAST
from sim.swim_theory import expected_detection, expected_first_probe, paper_first_detection

ONE_S = replace(FAST, period=0.5, probe_timeout=0.2)


def test_simulated_first_detection_and_failure_are_within_15_percent_of_the_analytic_values():
    found = detection_experiment(n=8, trials=120, seed=7)
    assert found.first_error <= 0.15, found
    assert found.failure_error <= 0.15, found


def test_the_analytic_first_probe_tends_to_the_papers_figure():
    assert expected_first_probe(2) == pytest.approx(1.0)       # one prober, probes it every period
    assert expected_first_probe(1000) == pytest.approx(paper_first_detection(1.0), rel=0.001)
    detection = expected_detection(8, FAST)
    assert detection.failure_s == pytest.approx(detection.first_detection_s + FAST.suspicion_timeout)


def run_discovery(params=ONE_S, **kwargs):
    env = simpy.Environment()
    return env, SimDiscovery(env, params, **kwargs)


def failed_at(discovery, node_id):
    return next((t for t, view in discovery.member_samples if view.get(node_id) == "failed"), None)


def test_a_killed_engine_is_suspected_a_heartbeat_timeout_after_its_last_beat_then_failed():
    env, discovery = run_discovery()
    env.run(until=2.0)
    discovery.engine_started("relational-1", "relational")   # beats at 2, 3, 4, ...
    env.run(until=10.3)
    assert discovery.status("relational-1") == "alive"
    discovery.engine_killed("relational-1")                   # last beat at 10.0
    env.run(until=12.9)
    assert discovery.status("relational-1") == "alive"
    env.run(until=13.0 + 0.01)
    assert discovery.status("relational-1") == "suspect"
    env.run(until=30)
    assert discovery.status("relational-1") == "failed"
    assert failed_at(discovery, "relational-1") == pytest.approx(10.0 + 3.0 + 5.0)


def test_a_stopped_engine_leaves_and_a_live_one_stays_alive_for_an_hour_without_a_heartbeat_event():
    env, discovery = run_discovery()
    discovery.engine_started("vector-1", "vector")
    discovery.engine_started("vector-2", "vector")
    env.run(until=3600)
    assert discovery.status("vector-1") == "alive" and discovery.status("vector-2") == "alive"
    assert all(v.get("vector-1") != "suspect" for _, v in discovery.member_samples)
    discovery.engine_stopped("vector-2")
    env.run(until=3601)
    assert discovery.status("vector-2") == "left"


def test_cut_heartbeats_make_the_engine_suspect_then_failed_and_restored_ones_bring_it_back():
    env, discovery = run_discovery()
    discovery.engine_started("filestore-1", "filestore")
    env.run(until=5.5)
    discovery.heartbeats_cut("filestore-1", True)
    env.run(until=20)
    assert discovery.status("filestore-1") == "failed"
    discovery.heartbeats_cut("filestore-1", False)
    env.run(until=21)
    assert discovery.status("filestore-1") == "alive"
    assert discovery.cluster.nodes["discovery-1"].table.member("filestore-1").incarnation >= 1


def test_a_partitioned_discovery_node_and_its_engines_fail_on_the_other_side_then_heal():
    params = params_from(500, 3000)
    params = replace(params, reconnect_interval=2.0, sync_interval=0, reap_after=0)
    env, discovery = run_discovery(params, nodes=3, seed=4)
    env.run(until=5)
    for i in range(3):
        assert discovery.engine_started(f"vector-{i + 1}", "vector") == f"discovery-{i + 1}"
    env.run(until=10)
    assert all(discovery.status(f"vector-{i + 1}", "discovery-1") == "alive" for i in range(3))
    discovery.partition(["discovery-1", "discovery-2"], ["discovery-3"])
    env.run(until=30)
    assert discovery.status("discovery-3", "discovery-1") == "failed"
    assert discovery.status("vector-3", "discovery-1") == "failed"   # nobody on this side vouches for it
    assert discovery.status("vector-3", "discovery-3") == "alive"    # its own host still does
    discovery.heal()
    env.run(until=45)
    assert all(discovery.status(n, o) == "alive" for o in discovery.hosts
               for n in discovery.hosts + ["vector-1", "vector-2", "vector-3"])


def test_gossip_loss_makes_refuted_suspicions_not_failures():
    env, discovery = run_discovery(params_from(500, 5000), nodes=5, seed=3, loss=0.1)
    discovery.engine_started("relational-1", "relational")
    env.run(until=120)
    statuses = {c.member.status for _, _, c in discovery.cluster.changes}
    assert Status.SUSPECT in statuses and Status.FAILED not in statuses
    assert discovery.cluster.dropped > 0
    assert all(discovery.status(h) == "alive" for h in discovery.hosts)


def test_bad_settings_are_refused_with_the_setting_named():
    env = simpy.Environment()
    with pytest.raises(ValueError, match="loss"):
        SimDiscovery(env, loss=1.5)
    with pytest.raises(ValueError, match="at least one node"):
        SimDiscovery(env, nodes=0)


def test_the_same_seed_gives_the_same_history():
    def history(seed):
        env, discovery = run_discovery(params_from(500, 3000), nodes=4, seed=seed, loss=0.05)
        discovery.engine_started("vector-1", "vector")
        env.run(until=8)
        discovery.engine_killed("vector-1")
        env.run(until=40)
        return [(round(t, 6), o, c.member.node_id, c.member.status.value)
                for t, o, c in discovery.cluster.changes]
    assert history(9) == history(9)


def test_the_live_fault_plan_partitions_and_isolates_discovery_nodes():
    params = replace(params_from(500, 3000), reconnect_interval=2.0, sync_interval=0, reap_after=0)
    env, discovery = run_discovery(params, nodes=3, seed=2)
    env.run(until=5)
    discovery.set_faults(isolate=["discovery-2"])
    env.run(until=25)
    assert discovery.status("discovery-2") == "failed"
    assert discovery.status("discovery-3") == "alive"
    discovery.set_faults()          # a new, empty plan replaces it
    env.run(until=40)
    assert all(discovery.status(h, o) == "alive" for o in discovery.hosts for h in discovery.hosts)
