"""Hosted members: engines that heartbeat a discovery node which gossips and vouches for them."""
import pytest

from emulator.membership import Gossip, Meta, NotHostedHere, RegistrationConflict, Status, Update
from tests.membership.harness import FAST, Cluster

T, HB, TIMEOUT = FAST.period, FAST.heartbeat_timeout, FAST.suspicion_timeout
META = Meta("relational", "postgres", "127.0.0.1:5432", ("relational-primary",))


@pytest.fixture
def cluster():
    cluster = Cluster()
    cluster.start(6)
    assert cluster.run_until_true(cluster.converged, 30) is not None
    return cluster


def register(cluster, host, node_id="engine", meta=META):
    member, effects = cluster.nodes[host].register(node_id, meta, cluster.now)
    cluster.execute(host, effects)
    return member


def heartbeat_for(cluster, host, seconds, node_id="engine", every=1.0):
    end = cluster.now + seconds
    while cluster.now < end:
        member, effects = cluster.nodes[host].heartbeat(node_id, cluster.now)
        cluster.execute(host, effects)
        cluster.run_for(min(every, end - cluster.now))
    return member


def everyone_sees(cluster, status, node_id="engine"):
    return lambda: all(cluster.status(o, node_id) is status for o in cluster.live())


def test_a_registration_reaches_every_node_with_its_host_and_groups(cluster):
    member = register(cluster, "n2")
    assert (member.host, member.addr, member.meta) == ("n2", None, META)
    assert cluster.run_until_true(everyone_sees(cluster, Status.ALIVE), 3 * T) is not None
    assert all(cluster.nodes[o].table.member("engine") == member for o in cluster.nodes)


def test_heartbeats_keep_it_alive_and_silence_makes_it_suspect_then_failed(cluster):
    register(cluster, "n2")
    heartbeat_for(cluster, "n2", 4 * HB)
    assert everyone_sees(cluster, Status.ALIVE)()
    silent_since = cluster.now - 1.0  # the last heartbeat
    suspected = cluster.run_until_true(lambda: cluster.status("n2", "engine") is Status.SUSPECT,
                                       2 * HB)
    assert suspected == pytest.approx(silent_since + HB, abs=0.01)
    failed = cluster.run_until_true(everyone_sees(cluster, Status.FAILED), TIMEOUT + 2 * T)
    assert failed == pytest.approx(suspected + TIMEOUT, abs=0.05)


def test_a_heartbeat_after_failure_brings_it_back_at_a_higher_incarnation(cluster):
    register(cluster, "n2")
    assert cluster.run_until_true(everyone_sees(cluster, Status.FAILED), HB + TIMEOUT + T)
    member = heartbeat_for(cluster, "n2", 2 * T)
    assert member.status is Status.ALIVE and member.incarnation == 1
    assert everyone_sees(cluster, Status.ALIVE)()


def test_the_host_refutes_claims_against_a_member_it_vouches_for(cluster):
    member = register(cluster, "n2")
    claim = member.with_status(Status.FAILED)
    cluster.execute("n2", cluster.nodes["n2"].handle_message(Gossip("n4", (Update(claim),)),
                                                             "sim:n4", cluster.now))
    assert cluster.nodes["n2"].table.member("engine").incarnation == 1
    assert cluster.run_until_true(everyone_sees(cluster, Status.ALIVE), 3 * T) is not None


def test_when_the_host_fails_its_members_fail_everywhere(cluster):
    register(cluster, "n2")
    heartbeat_for(cluster, "n2", 2 * T)
    cluster.crash("n2")
    assert cluster.run_until_true(lambda: cluster.all_see("n2", Status.FAILED), 60)
    assert everyone_sees(cluster, Status.FAILED)()


def test_re_registering_elsewhere_moves_it_at_a_higher_incarnation(cluster):
    register(cluster, "n2")
    heartbeat_for(cluster, "n2", 2 * T)
    moved = register(cluster, "n4")
    assert (moved.host, moved.incarnation) == ("n4", 1)
    heartbeat_for(cluster, "n4", 3 * T)
    assert all(cluster.nodes[o].table.member("engine") == moved for o in cluster.nodes)
    assert cluster.nodes["n2"].heartbeat("engine", cluster.now) == (None, [])  # not here now


def test_deregistering_is_a_graceful_leave(cluster):
    register(cluster, "n2")
    cluster.run_for(2 * T)
    with pytest.raises(NotHostedHere) as refused:
        cluster.nodes["n3"].deregister("engine", cluster.now)
    assert refused.value.host == "n2"
    member, effects = cluster.nodes["n2"].deregister("engine", cluster.now)
    cluster.execute("n2", effects)
    assert member.status is Status.LEFT
    assert cluster.run_until_true(everyone_sees(cluster, Status.LEFT), 3 * T) is not None
    assert cluster.nodes["n2"].heartbeat("engine", cluster.now) == (None, [])
    with pytest.raises(KeyError):
        cluster.nodes["n2"].deregister("nobody", cluster.now)


def test_a_discovery_node_id_cannot_be_registered(cluster):
    for node_id in ("n2", "n3"):
        with pytest.raises(RegistrationConflict):
            cluster.nodes["n2"].register(node_id, META, cluster.now)


def test_a_restarted_host_adopts_its_members_and_suspects_the_silent_ones(cluster):
    register(cluster, "n2")
    heartbeat_for(cluster, "n2", 2 * T)
    cluster.crash("n2")
    cluster.add("n2", seeds=("n0",))  # same id, empty table, incarnation 0
    assert cluster.run_until_true(cluster.converged, 10 * T) is not None
    # gossip said n2 hosts "engine": n2 gives it one heartbeat timeout, then suspects it
    assert cluster.run_until_true(lambda: cluster.status("n2", "engine") is Status.SUSPECT,
                                  HB + 2 * T) is not None
