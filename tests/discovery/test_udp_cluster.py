"""Real UDP on loopback, many nodes in this process: convergence, refutation, partitions."""
from dataclasses import replace

import pytest

from emulator.discovery.faults import FaultPlan
from emulator.membership import Status
from tests.discovery.conftest import FAST, SUSPICION, T, detection_bound, status, wait_for

# 32 nodes share this process's one CPU with the test runner: a longer period keeps the
# direct-ack wait well above the loop's latency on a busy 2-core machine.
FAST32 = replace(FAST, gossip_interval_ms=200, probe_timeout_ms=100, suspicion_timeout_ms=2000)


async def test_eight_nodes_converge(local_cluster):
    cluster = await local_cluster(8)
    await wait_for(cluster.converged, 20 * T)


@pytest.mark.slow
async def test_thirty_two_nodes_converge_and_agree_on_a_crash(local_cluster):
    cluster = await local_cluster(32, FAST32)
    await wait_for(cluster.converged, 60 * FAST32.gossip_interval_ms / 1000)
    victim = cluster.nodes[17]
    victim.kill()
    await wait_for(lambda: cluster.all_see(victim.node_id, Status.FAILED),
                   detection_bound(32, FAST32))


async def test_a_suspected_node_that_is_alive_refutes(local_cluster):
    cluster = await local_cluster(6)
    await wait_for(cluster.converged, 20 * T)
    target = cluster.nodes[3]
    target.set_faults(FaultPlan(isolate=frozenset({target.node_id})))  # deaf and mute
    others = [n for n in cluster.nodes if n is not target]
    await wait_for(lambda: any(status(o, target.node_id) is Status.SUSPECT for o in others),
                   2 * 5 * T + 1)
    target.set_faults(FaultPlan())  # back well within the suspicion timeout
    await wait_for(lambda: cluster.all_see(target.node_id, Status.ALIVE), SUSPICION)
    assert target.core.self_member.incarnation >= 1
    assert all(o.core.table.member(target.node_id).incarnation >= 1 for o in others)
    assert all(e.status != "failed" for o in others for e in o.events
               if e.node_id == target.node_id)


async def test_a_partition_heals(local_cluster):
    cluster = await local_cluster(6)
    await wait_for(cluster.converged, 20 * T)
    left = frozenset(n.node_id for n in cluster.nodes[:3])
    right = frozenset(n.node_id for n in cluster.nodes[3:])
    for node in cluster.nodes:
        node.set_faults(FaultPlan(partitions=((left, right),)))

    def split():
        return all(status(cluster.by_id(a), b) is Status.FAILED and
                   status(cluster.by_id(b), a) is Status.FAILED for a in left for b in right)

    await wait_for(split, detection_bound(6))
    assert all(status(cluster.by_id(a), b) is Status.ALIVE for a in left for b in left)
    dropped = sum(n.faults.dropped_partition for n in cluster.nodes)
    assert dropped > 0
    for node in cluster.nodes:
        node.set_faults(FaultPlan())
    reconnect = cluster.config.reconnect_interval_ms / 1000
    await wait_for(cluster.converged, 3 * reconnect + 20 * T)


async def test_moderate_loss_causes_no_false_failures(local_cluster):
    cluster = await local_cluster(6)
    await wait_for(cluster.converged, 20 * T)
    for node in cluster.nodes:
        node.set_faults(FaultPlan(loss=0.05))
    await wait_for(lambda: sum(n.faults.dropped_loss for n in cluster.nodes) > 50, 10)
    for node in cluster.nodes:
        node.set_faults(FaultPlan())
    assert not [e for n in cluster.nodes for e in n.events if e.status == "failed"]
    await wait_for(cluster.converged, SUSPICION)
