"""One node's protocol, driven by hand: probe, indirect probe, suspect, refute, fail, leave."""
import random
from dataclasses import replace

import pytest

from emulator.membership import (Ack, Gossip, IndirectAck, Join, Member, MemberChanged,
                                 Membership, Ping, PingReq, Send, Status, Update)
from emulator.membership.probing import ProbeRing
from tests.membership.harness import FAST, Cluster

T, TIMEOUT = FAST.period, FAST.suspicion_timeout


def core(node_id, now=0.0, seeds=()):
    return Membership(Member(node_id, addr=f"sim:{node_id}"), FAST, random.Random(7), now, seeds)


def sends(effects, kind):
    return [e for e in effects if isinstance(e, Send) and isinstance(e.message, kind)]


def converged_cluster(n, **kw):
    cluster = Cluster(**kw)
    cluster.start(n)
    assert cluster.run_until_true(cluster.converged, 30) is not None
    cluster.run_for(10 * T)  # let the join gossip drain
    return cluster


def test_a_lone_node_asks_its_seeds_to_join_and_merges_their_table():
    a = core("a", seeds=("sim:b", "sim:a"))
    joins = sends(a.handle_timer(0.0), Join)
    assert [j.addr for j in joins] == ["sim:b"]  # never itself
    b = core("b")
    syncs = sends(b.handle_message(joins[0].message, "sim:a", 0.01), object)
    assert syncs and all(s.addr == "sim:a" for s in syncs)
    for s in syncs:
        a.handle_message(s.message, "sim:b", 0.02)
    assert a.table.member("b").status is Status.ALIVE
    assert b.table.member("a").status is Status.ALIVE


def pair():
    a, b = core("a"), core("b")
    for s in sends(b.handle_message(Join("a", a.self_member), "sim:a", 0.0), object):
        a.handle_message(s.message, "sim:b", 0.0)
    return a, b


def test_probe_is_a_ping_answered_by_an_ack():
    a, b = pair()
    [ping] = sends(a.handle_timer(0.0), Ping)
    assert (ping.addr, ping.message.target, ping.to) == ("sim:b", "b", "b")
    [ack] = sends(b.handle_message(ping.message, "sim:a", 0.01), Ack)
    assert ack.addr == "sim:a" and ack.message.seq == ping.message.seq
    a.handle_message(ack.message, "sim:b", 0.02)
    effects = a.handle_timer(T)  # end of period: acked, so no suspicion
    assert not [e for e in effects if isinstance(e, MemberChanged)]
    assert a.table.member("b").status is Status.ALIVE


def test_a_ping_for_another_node_id_is_ignored():
    a, b = pair()
    assert b.handle_message(Ping(9, "a", "someone-else"), "sim:a", 0.0) == []


def test_no_ack_means_indirect_probes_then_suspicion_at_the_end_of_the_period():
    cluster = converged_cluster(6)
    a = cluster.nodes["n0"]
    while not (a.probe and a.probe.target == "n3"):
        cluster.step(cluster.now + 100)
    cluster.crash("n3")  # its ping is in flight, and lost
    cluster.sent.clear()
    started = a.probe.started
    cluster.run_until(started + FAST.probe_timeout + 1e-9)
    reqs = [s for t, n, s in cluster.sent if n == "n0" and isinstance(s.message, PingReq)]
    assert len(reqs) == FAST.indirect_probes and {s.message.target for s in reqs} == {"n3"}
    assert len({s.to for s in reqs}) == FAST.indirect_probes and "n3" not in {s.to for s in reqs}
    assert cluster.status("n0", "n3") is Status.ALIVE
    cluster.run_until(started + T + 1e-9)
    assert cluster.status("n0", "n3") is Status.SUSPECT
    at, _, change = [c for c in cluster.changes if c[1] == "n0" and c[2].member.node_id == "n3"][-1]
    assert at == pytest.approx(started + T) and change.previous is Status.ALIVE


def test_an_indirect_ack_saves_a_member_the_direct_path_cannot_reach():
    cluster = converged_cluster(5)
    cluster.cut("n0", "n2")
    cluster.sent.clear()
    cluster.run_for(3 * 4 * T)  # three rounds: n0 probes n2 at least twice
    relayed = [s for t, n, s in cluster.sent if isinstance(s.message, IndirectAck) and s.to == "n0"]
    assert relayed and {s.message.target for s in relayed} == {"n2"}
    assert cluster.converged()


def test_suspicion_about_oneself_is_refuted_with_a_higher_incarnation():
    a, b = pair()
    suspicion = b.table.member("a").with_status(Status.SUSPECT)
    b.handle_message(Gossip("c", (Update(suspicion),)), "sim:c", 1.0)
    assert b.table.member("a").status is Status.SUSPECT
    a.handle_message(Gossip("b", (Update(suspicion),)), "sim:b", 1.0)
    me = a.self_member
    assert (me.status, me.incarnation) == (Status.ALIVE, 1)
    assert "a" in a.queue
    [ping] = sends(a.handle_timer(1.0), Ping)
    assert ping.message.updates[0].member == me  # a refutation leads every message
    b.handle_message(ping.message, "sim:a", 1.01)
    assert b.table.member("a") == me


def test_a_partitioned_node_that_comes_back_in_time_refutes_and_never_fails():
    cluster = converged_cluster(6)
    for other in cluster.nodes:
        cluster.cut("n2", other)
    suspected = cluster.run_until_true(
        lambda: any(cluster.status(o, "n2") is Status.SUSPECT for o in cluster.nodes), 30)
    assert suspected is not None
    cluster.cuts.clear()
    cluster.run_for(TIMEOUT)
    assert cluster.converged()
    assert all(cluster.nodes[o].table.member("n2").incarnation >= 1 for o in cluster.nodes)
    assert not [c for c in cluster.changes if c[2].member.status is Status.FAILED]


def test_suspicion_deadline_is_anchored_at_the_first_suspicion():
    a, b = pair()
    suspicion = a.table.member("b").with_status(Status.SUSPECT)
    a.handle_message(Gossip("c", (Update(suspicion, suspect_age=2.0),)), "sim:c", 10.0)
    assert a.table.member("b").status is Status.SUSPECT
    assert a.next_deadline() <= 10.0 + TIMEOUT - 2.0
    a.handle_timer(12.9)
    assert a.table.member("b").status is Status.SUSPECT
    effects = a.handle_timer(13.0)
    assert a.table.member("b").status is Status.FAILED
    assert [e.member.status for e in effects if isinstance(e, MemberChanged)] == [Status.FAILED]
    [sent] = [u for u in a.piggyback("x", 13.5) if u.member.node_id == "b"]
    assert sent.member.status is Status.FAILED


def test_a_silent_member_fails_everywhere_one_suspicion_timeout_after_its_first_suspicion():
    cluster = converged_cluster(8)
    cluster.crash("n5")
    cluster.changes.clear()
    assert cluster.run_until_true(lambda: cluster.all_see("n5", Status.FAILED), 60) is not None
    about = [(at, c.member.status) for at, n, c in cluster.changes if c.member.node_id == "n5"]
    first = min(at for at, status in about if status is Status.SUSPECT)
    failed = [at for at, status in about if status is Status.FAILED]
    assert len(failed) == 7
    assert all(first + TIMEOUT <= at <= first + TIMEOUT + 0.05 for at in failed)


def test_graceful_leave_is_left_everywhere_without_suspicion():
    cluster = converged_cluster(6)
    leaver = cluster.nodes["n4"]
    cluster.execute("n4", leaver.leave(cluster.now))
    assert leaver.handle_timer(cluster.now + T) == []
    assert leaver.handle_message(Ping(1, "n0", "n4"), "sim:n0", cluster.now) == []
    assert cluster.run_until_true(lambda: cluster.all_see("n4", Status.LEFT), 2 * T) is not None
    assert not [c for c in cluster.changes if c[2].member.status is Status.SUSPECT]


def test_piggybacked_updates_are_sent_lambda_log_n_times_by_every_node():
    cluster = converged_cluster(8, params=replace(FAST, heartbeat_timeout=1e6))
    cluster.sent.clear()
    member, effects = cluster.nodes["n3"].register("engine", Member("engine").meta, cluster.now)
    cluster.execute("n3", effects)
    cluster.run_for(30 * T)
    limit = FAST.retransmit_limit(8)
    assert limit == FAST.retransmit_mult * 4
    for node_id in cluster.nodes:
        carried = sum(1 for t, n, s in cluster.sent if n == node_id
                      for u in getattr(s.message, "updates", ()) if u.member == member)
        assert carried == limit, node_id
    assert all(cluster.nodes[n].table.member("engine") == member for n in cluster.nodes)


def test_round_robin_probes_every_member_once_per_round():
    ring = ProbeRing(random.Random(3))
    for node_id in "abcde":
        ring.add(node_id)
    picks = [ring.next() for _ in range(25)]
    rounds = [picks[i:i + 5] for i in range(0, 25, 5)]
    assert all(sorted(r) == list("abcde") for r in rounds)
    assert len({tuple(r) for r in rounds}) > 1  # reshuffled between rounds
    ring.remove("c")
    ring.add("f")
    assert sorted(ring.next() for _ in range(5)) <= sorted("abdef")


def test_local_health_stretches_the_timing_of_a_node_that_had_to_refute():
    a, b = pair()
    suspicion = Update(b.table.member("a").with_status(Status.SUSPECT))
    a.handle_message(Gossip("b", (suspicion,)), "sim:b", 0.0)
    assert a.health == 1
    [ping] = sends(a.handle_timer(0.0), Ping)
    assert a.probe.direct_deadline == 2 * FAST.probe_timeout and a.next_deadline() == 0.4
    [ack] = sends(b.handle_message(ping.message, "sim:a", 0.01), Ack)
    a.handle_message(ack.message, "sim:b", 0.02)
    assert a.next_deadline() == 2 * T  # the stretched period
    a.handle_timer(2 * T)
    assert a.health == 0  # an acked probe restores it
    assert (a.probe.direct_deadline, a.probe.end) == (2 * T + FAST.probe_timeout, 3 * T)


def test_fanout_datagrams_carry_only_hot_updates_and_the_tail_rides_on_probes():
    cluster = converged_cluster(8, params=replace(FAST, heartbeat_timeout=1e6))
    cluster.sent.clear()
    member, effects = cluster.nodes["n3"].register("engine", Member("engine").meta, cluster.now)
    cluster.execute("n3", effects)
    cluster.run_for(30 * T)
    by_n3 = [(t, s.message) for t, n, s in cluster.sent if n == "n3"
             for u in getattr(s.message, "updates", ()) if u.member == member]
    gossips = [t for t, m in by_n3 if isinstance(m, Gossip)]
    assert gossips and len(gossips) <= FAST.retransmit_mult + FAST.gossip_fanout - 1
    assert max(gossips) < min(t for t, m in by_n3 if not isinstance(m, Gossip)) + 2 * T
    assert len(by_n3) == FAST.retransmit_limit(8)  # the rest went on pings and acks
    assert not [s for t, n, s in cluster.sent if isinstance(s.message, Gossip) and t > max(gossips) + 3 * T]
