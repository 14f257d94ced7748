"""Whole clusters of cores on the simulated network: convergence, detection bounds, healing."""
from dataclasses import replace

from emulator.membership import Status
from tests.membership.harness import FAST, Cluster

T, TIMEOUT = FAST.period, FAST.suspicion_timeout


def test_sixteen_nodes_joining_through_one_seed_converge_within_a_few_periods():
    cluster = Cluster(seed=5)
    cluster.start(16)
    assert cluster.run_until_true(cluster.converged, 10 * T) is not None


def test_a_crashed_member_fails_everywhere_within_the_protocol_bound():
    """Bound: one prober reaches any member within 2(N-1) periods (round-robin), the
    verdict comes at the end of that period, and failure one suspicion timeout later."""
    n = 12
    for seed in range(4):
        cluster = Cluster(seed=seed)
        cluster.start(n)
        assert cluster.run_until_true(cluster.converged, 10 * T) is not None
        crashed_at = cluster.now
        cluster.crash("n7")
        bound = (2 * (n - 1) + 1) * T + TIMEOUT
        failed = cluster.run_until_true(lambda: cluster.all_see("n7", Status.FAILED), bound)
        assert failed is not None and failed - crashed_at <= bound


def test_ten_percent_loss_makes_suspicions_that_are_refuted_not_failures():
    cluster = Cluster(seed=3, loss=0.10)
    cluster.start(12)
    assert cluster.run_until_true(cluster.converged, 20 * T) is not None
    cluster.run_for(60 * T)
    statuses = {c.member.status for _, _, c in cluster.changes}
    assert Status.SUSPECT in statuses and Status.FAILED not in statuses
    assert cluster.run_until_true(cluster.converged, 10 * T) is not None


def test_a_partition_longer_than_the_suspicion_timeout_heals():
    cluster = Cluster(seed=2, params=replace(FAST, reconnect_interval=3.0))
    ids = cluster.start(8)
    assert cluster.run_until_true(cluster.converged, 10 * T) is not None
    left, right = ids[:4], ids[4:]
    for a in left:
        for b in right:
            cluster.cut(a, b)
    split = lambda: all(cluster.all_see(b, Status.FAILED, left) for b in right) and all(
        cluster.all_see(a, Status.FAILED, right) for a in left)
    assert cluster.run_until_true(split, 30 * T + TIMEOUT) is not None
    assert all(cluster.status(a, b) is Status.ALIVE for a in left for b in left)
    cluster.cuts.clear()
    healed = cluster.run_until_true(cluster.converged, 3 * 3.0 + 10 * T)
    assert healed is not None
    cluster.run_for(TIMEOUT + 5 * T)
    assert cluster.converged()  # and it stays healed


def test_a_rejoining_node_with_the_same_id_outbids_its_failure():
    cluster = Cluster(seed=4)
    cluster.start(6)
    assert cluster.run_until_true(cluster.converged, 10 * T) is not None
    cluster.crash("n3")
    assert cluster.run_until_true(lambda: cluster.all_see("n3", Status.FAILED), 60)
    cluster.add("n3", seeds=("n0",))
    assert cluster.run_until_true(cluster.converged, 5 * T) is not None
    assert all(cluster.nodes[o].table.member("n3").incarnation >= 1 for o in cluster.nodes)
