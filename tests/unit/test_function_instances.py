"""The warm-instance pool (seed 002): pure, time passed by hand."""
import random

import pytest

from emulator.protocol.function_instances import Grant, InstancePool, Throttled


def test_first_request_is_a_cold_start_ready_after_the_delay():
    pool = InstancePool(limit=2, cold_start_s=0.25)
    grant = pool.acquire(10.0)
    assert grant == Grant("i-1", cold=True, ready_at=10.25)
    assert pool.counters.cold_starts == 1 and pool.counters.live == 1


def test_a_warm_instance_is_reused_and_keeps_its_identity():
    pool = InstancePool(limit=5, cold_start_s=0.5)
    first = pool.acquire(0.0)
    pool.release(first.instance_id, 1.0)
    second = pool.acquire(2.0)
    assert second == Grant(first.instance_id, cold=False, ready_at=2.0)
    assert (pool.counters.cold_starts, pool.counters.warm_hits) == (1, 1)


def test_all_busy_starts_another_instance_up_to_the_limit_then_throttles():
    pool = InstancePool(limit=2, retry_after_s=3)
    a, b = pool.acquire(0.0), pool.acquire(0.0)
    assert (a.instance_id, b.instance_id, a.cold, b.cold) == ("i-1", "i-2", True, True)
    assert pool.acquire(0.1) == Throttled(3)
    assert pool.counters.throttles == 1
    pool.release("i-2", 0.2)
    assert pool.acquire(0.3) == Grant("i-2", False, 0.3)


def test_the_most_recently_used_idle_instance_serves_so_the_rest_age_out():
    pool = InstancePool(limit=3, keep_alive_s=10)
    for _ in range(3):
        pool.acquire(0.0)
    pool.release("i-1", 1.0)
    pool.release("i-2", 2.0)
    pool.release("i-3", 3.0)
    grant = pool.acquire(4.0)
    assert grant.instance_id == "i-3"
    pool.release("i-3", 5.0)
    assert pool.next_deadline() == 11.0          # i-1 idle since 1.0
    assert pool.reap(11.0) == ["i-1"]
    assert pool.reap(11.5) == []                 # reported once
    assert pool.next_deadline() == 12.0
    assert pool.reap(15.0) == ["i-2", "i-3"]


def test_reap_reports_every_instance_idle_past_the_keep_alive_oldest_first():
    pool = InstancePool(limit=3, keep_alive_s=10)
    for _ in range(3):
        pool.acquire(0.0)
    for t, i in ((1.0, "i-1"), (2.0, "i-2"), (3.0, "i-3")):
        pool.release(i, t)
    assert pool.reap(12.5) == ["i-1", "i-2"]
    assert pool.counters.live == 1 and pool.counters.reaped == 2
    assert pool.reap(13.0) == ["i-3"]
    assert pool.next_deadline() is None and pool.counters.live == 0


def test_an_instance_past_its_keep_alive_is_never_handed_out_even_before_reap():
    pool = InstancePool(limit=1, keep_alive_s=5)
    pool.acquire(0.0)
    pool.release("i-1", 1.0)
    grant = pool.acquire(6.0)                   # i-1 expired at 6.0; nobody reaped it yet
    assert grant == Grant("i-2", True, 6.0)
    assert pool.reap(6.0) == ["i-1"]            # still reported, so its /tmp is deleted


def test_a_busy_instance_is_never_reaped():
    pool = InstancePool(limit=1, keep_alive_s=1)
    pool.acquire(0.0)
    assert pool.reap(100.0) == [] and pool.next_deadline() is None
    pool.release("i-1", 100.0)
    assert pool.next_deadline() == 101.0


def test_no_keep_alive_means_never_reaped():
    pool = InstancePool(limit=1, keep_alive_s=None)
    pool.acquire(0.0)
    pool.release("i-1", 0.0)
    assert pool.next_deadline() is None
    assert pool.reap(1e9) == [] and pool.acquire(1e9) == Grant("i-1", False, 1e9)


def test_several_requests_per_instance_pack_one_instance_first():
    pool = InstancePool(limit=2, per_instance_concurrency=3)
    ids = [pool.acquire(0.0).instance_id for _ in range(4)]
    assert ids == ["i-1", "i-1", "i-1", "i-2"]
    assert pool.counters.inflight == 4 and pool.counters.busy == 2
    pool.release("i-1", 1.0)
    assert pool.acquire(1.0).instance_id in ("i-1", "i-2")
    for _ in range(2):
        pool.acquire(1.0)
    assert isinstance(pool.acquire(1.0), Throttled)


def test_a_request_packed_onto_a_starting_instance_waits_for_its_cold_start():
    pool = InstancePool(limit=1, per_instance_concurrency=2, cold_start_s=2.0)
    assert pool.acquire(0.0) == Grant("i-1", True, 2.0)
    assert pool.acquire(0.5) == Grant("i-1", False, 2.0)


def test_fresh_starts_a_new_instance_even_when_a_warm_one_is_idle():
    pool = InstancePool(limit=2)
    pool.acquire(0.0)
    pool.release("i-1", 0.0)
    assert pool.acquire(1.0, fresh=True) == Grant("i-2", True, 1.0)


def test_fresh_at_the_limit_evicts_the_oldest_idle_instance():
    pool = InstancePool(limit=1)
    pool.acquire(0.0)
    pool.release("i-1", 0.0)
    assert pool.acquire(1.0, fresh=True).instance_id == "i-2"
    assert pool.reap(1.0) == ["i-1"]


def test_fresh_at_the_limit_with_every_instance_busy_is_throttled():
    pool = InstancePool(limit=1)
    pool.acquire(0.0)
    assert isinstance(pool.acquire(0.0, fresh=True), Throttled)


def test_prefer_routes_to_that_instance_when_it_has_room():
    pool = InstancePool(limit=3)
    pool.acquire(0.0), pool.acquire(0.0)
    pool.release("i-1", 1.0)
    pool.release("i-2", 2.0)
    assert pool.acquire(3.0, prefer="i-1").instance_id == "i-1"
    # busy, unknown or reaped: the usual choice
    assert pool.acquire(3.0, prefer="i-1").instance_id == "i-2"
    assert pool.acquire(3.0, prefer="i-9").instance_id == "i-3"


def test_reap_idle_reaps_every_idle_instance_at_once():
    pool = InstancePool(limit=3, keep_alive_s=None)
    for _ in range(3):
        pool.acquire(0.0)
    pool.release("i-1", 1.0)
    pool.release("i-3", 1.0)
    assert sorted(pool.reap_idle(2.0)) == ["i-1", "i-3"]
    assert [v.instance_id for v in pool.instances()] == ["i-2"]


def test_ids_are_never_reused():
    pool = InstancePool(limit=1, keep_alive_s=0)
    seen = set()
    for t in range(5):
        grant = pool.acquire(float(t))
        seen.add(grant.instance_id)
        pool.release(grant.instance_id, float(t))
    assert len(seen) == 5


def test_release_of_an_unknown_or_idle_instance_is_an_error():
    pool = InstancePool(limit=1)
    with pytest.raises(KeyError):
        pool.release("i-1", 0.0)
    pool.acquire(0.0)
    pool.release("i-1", 0.0)
    with pytest.raises(KeyError):
        pool.release("i-1", 0.0)


def test_time_going_back_is_refused():
    pool = InstancePool(limit=1)
    pool.acquire(5.0)
    with pytest.raises(ValueError, match="time went back"):
        pool.release("i-1", 4.0)


@pytest.mark.parametrize("kwargs", [dict(limit=0), dict(per_instance_concurrency=0),
                                    dict(keep_alive_s=-1), dict(cold_start_s=-0.1)])
def test_bad_parameters_are_refused(kwargs):
    with pytest.raises(ValueError):
        InstancePool(**kwargs)


def test_invariants_hold_under_a_random_workload():
    """Never more live instances than the limit, nor requests on one than its concurrency;
    counters add up; every instance is reported reaped at most once."""
    rng = random.Random(7)
    pool = InstancePool(limit=4, per_instance_concurrency=2, keep_alive_s=3.0, cold_start_s=0.1)
    now, held, reaped, grants = 0.0, [], [], 0
    for _ in range(3000):
        now += rng.expovariate(4.0)
        if held and rng.random() < 0.5:
            pool.release(held.pop(rng.randrange(len(held))), now)
        else:
            result = pool.acquire(now, fresh=rng.random() < 0.05)
            if isinstance(result, Grant):
                grants += 1
                held.append(result.instance_id)
                assert result.ready_at >= now
        if rng.random() < 0.1:
            reaped += pool.reap(now)
        c = pool.counters
        assert c.live <= 4 and c.inflight == len(held)
        assert all(v.inflight <= 2 for v in pool.instances())
        assert all(i in pool for i in held)
    assert grants == pool.cold_starts + pool.warm_hits
    reaped += pool.reap(now)
    assert len(reaped) == len(set(reaped)) == pool.reaped
    assert pool.cold_starts == pool.reaped + pool.counters.live


def test_a_cold_start_delay_can_be_given_per_call():
    pool = InstancePool(limit=2, cold_start_s=1.0)
    assert pool.acquire(0.0, cold_start_s=0.3) == Grant("i-1", True, 0.3)
    assert pool.acquire(0.0) == Grant("i-2", True, 1.0)
