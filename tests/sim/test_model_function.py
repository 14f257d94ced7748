"""The simulated function: the live function's decisions over the in-memory store.

Pure: no SimPy, no I/O; the function's clock (`now`) is set by hand.
"""
from __future__ import annotations

import random

import pytest

from emulator.function.config import PlatformLimits
from emulator.function.faults import Fault, FaultTable
from emulator.protocol import layout
from emulator.protocol.codec import Encoding
from emulator.protocol.cursor import Cursor
from emulator.protocol.engine_events import NetworkError, Response, Restored
from emulator.protocol.function_instances import InstancePool
from emulator.protocol.function_rules import Limits
from emulator.protocol.headers import Part
from emulator.store.memory import MemoryStore
from sim.model.function import Caller, SimFunction
from sim.model.network import Network


def caller(instance="relational-1", skew=0.0) -> Caller:
    return Caller("default", "relational", instance, Encoding.ZSTD, skew,
                  layout.instance_prefix("default", "relational", instance))


def function(**kw) -> SimFunction:
    store = MemoryStore(clock=lambda: fn.now)
    fn = SimFunction(store, limits=kw.pop("limits", Limits()), faults=kw.pop("faults", FaultTable(seed=1)),
                     network=kw.pop("network", Network()), rng=random.Random(1), **kw)
    fn.now = 1000.0
    return fn


def push(fn, c, kind, frm, to, *, size=1000, token=1, part=None, checksum=None):
    cursor_from = Cursor(0, frm) if frm is not None else None
    return fn.persist(c, token, kind=kind, cursor_from=cursor_from, cursor_to=Cursor(0, to), part=part,
                      length=size, checksum=checksum or f"{kind}:{frm}:{to}")


def test_a_chain_is_stored_and_a_retry_is_answered_as_the_first_time():
    fn, c = function(), caller()
    event, delay = push(fn, c, "full", None, 10)
    assert isinstance(event, Response) and event.status == 200 and event.cursor == Cursor(0, 10)
    assert event.token == 1 and event.now == pytest.approx(1000.0 + delay) and delay > 0
    assert push(fn, c, "delta", 10, 20)[0].status == 200
    fn.now += 5
    again = push(fn, c, "delta", 10, 20)[0]  # the answer was lost; the engine retries
    assert (again.status, again.stored_at) == (200, 1000.0)
    assert fn.store.calls["PUT"] == 2 and fn.requests[("/persist", 200)] == 3


def test_a_gap_is_409_and_a_full_behind_the_head_is_fenced():
    fn, c = function(), caller()
    push(fn, c, "full", None, 10)
    assert push(fn, c, "delta", 15, 20)[0].status == 409
    push(fn, c, "full", None, 30, checksum="newer")
    refused = push(fn, c, "full", None, 25, checksum="older writer")[0]
    assert refused.status == 409 and "another writer" in refused.reason


def test_limits_in_the_live_order_413_401_429_and_store_outage_503():
    fn = function(limits=Limits(max_payload=5000, max_inflight=1))
    c = caller()
    too_big = push(fn, c, "full", None, 10, size=6000)[0]
    assert (too_big.status, too_big.max_payload) == (413, 5000)
    fn.now += 10
    assert push(fn, caller(skew=400), "full", None, 10)[0].status == 401
    assert push(fn, c, "full", None, 10)[0].status == 200        # in flight until its answer
    busy = push(fn, c, "delta", 10, 11)[0]
    assert busy.status == 429 and busy.retry_after == 1.0
    fn.now += 10                                                  # the first request has ended
    fn.faults.add(Fault(kind="store_outage"))
    assert push(fn, c, "delta", 10, 11)[0].status == 503


def test_injected_faults_are_the_live_fault_table():
    faults = FaultTable(seed=3)
    fn = function(faults=faults)
    faults.add(Fault(kind="error", status=429, retry_after=7, count=1))
    throttled = push(fn, caller(), "full", None, 1)[0]
    assert (throttled.status, throttled.retry_after) == (429, 7.0)
    faults.add(Fault(kind="outage", count=1))
    dropped = push(fn, caller(), "full", None, 1)[0]
    assert isinstance(dropped, NetworkError) and fn.requests[("/persist", "dropped")] == 1
    assert push(fn, caller(), "full", None, 1)[0].status == 200


def test_restore_plans_the_chain_and_an_empty_instance_is_204():
    fn, c = function(), caller()
    assert fn.restore(c, 5, takeover=False, local_lsn=0)[0].status == 204
    push(fn, c, "full", None, 10, size=4000)
    push(fn, c, "delta", 10, 25, size=500)
    restored, _ = fn.restore(c, 5, takeover=False, local_lsn=0)
    assert isinstance(restored, Restored) and restored.token == 5
    assert (restored.cursor, restored.lsn, restored.deltas, restored.size) == (Cursor(0, 25), 25, 1, 4500)
    assert fn.bytes_out["/restore"] == 4500


def test_split_parts_count_only_when_complete():
    fn, c = function(), caller()
    push(fn, c, "full", None, 10, part=Part(1, 2), size=3000)
    assert fn.restore(c, 1, takeover=False, local_lsn=0)[0].status == 204
    push(fn, c, "full", None, 10, part=Part(2, 2), size=3000, checksum="p2")
    assert fn.restore(c, 2, takeover=False, local_lsn=0)[0].size == 6000


def test_takeover_adopts_the_newest_lineage_and_claims_it_once():
    fn = function()
    push(fn, caller("old-pod"), "full", None, 40)
    first, _ = fn.restore(caller("new-pod"), 1, takeover=True, local_lsn=0)
    assert first.lineage == "old-pod" and first.cursor == Cursor(0, 40)
    second, _ = fn.restore(caller("third-pod"), 1, takeover=True, local_lsn=0)
    assert isinstance(second, Response) and second.status == 204  # claimed by new-pod, within the lease
    assert fn.restore(caller("plain"), 1, takeover=False, local_lsn=0)[0].status == 204


def test_platform_limits_cut_a_long_restore_and_time_out_a_slow_push():
    platform = PlatformLimits(profile="gcf", max_response_bytes=5000, timeout_s=3.0)
    fn, c = function(platform=platform), caller()
    push(fn, c, "full", None, 10, size=8000)
    cut, _ = fn.restore(c, 1, takeover=False, local_lsn=0)
    assert isinstance(cut, NetworkError) and fn.requests[("/restore", "dropped")] == 1
    fn.faults.add(Fault(kind="store_latency", ms=4000))
    slow = push(fn, c, "delta", 10, 11)[0]
    assert slow.status == 502 and len(fn.store) == 1  # nothing stored after the timeout


def test_a_cold_instance_delays_the_answer_and_the_instance_limit_throttles():
    pool = InstancePool(limit=1, per_instance_concurrency=1, keep_alive_s=60, cold_start_s=0.8)
    fn, c = function(pool=pool), caller()
    _, cold = push(fn, c, "full", None, 1)
    assert cold > 0.8
    assert push(fn, c, "delta", 1, 2)[0].status == 429  # the one instance is busy
    fn.now += 5
    _, warm = push(fn, c, "delta", 1, 2)
    assert warm < 0.1 and pool.cold_starts == 1 and pool.warm_hits == 1


def test_loss_is_a_failed_connection_the_function_never_sees():
    fn = function(network=Network(loss=1.0))
    event, delay = push(fn, caller(), "full", None, 1)
    assert isinstance(event, NetworkError) and delay > 0 and not fn.requests


# ---- warm state per function instance (seed 002) and the chain rules' re-checks ----------


class SteeredPool(InstancePool):
    """The pool with the live host's steering (instances.InstanceHost.serve): `steer` "new" asks
    for a new instance, "i-2" for that one, as X-Wkp-Emu-Instance does; None: the pool picks."""
    steer: str | None = None

    def acquire(self, now, **kw):
        fresh = self.steer == "new"
        return super().acquire(now, fresh=fresh, prefer=self.steer if self.steer and not fresh else None)


def pooled(**pool) -> SimFunction:
    return function(pool=SteeredPool(**{"limit": 4, "per_instance_concurrency": 1, "keep_alive_s": None,
                                        **pool}))


def on(fn, instance, c, kind, frm, to, **kw):
    """A push served by `instance` ("new" or an id), 10 s after the last (each has ended)."""
    fn.now += 10
    fn.pool.steer = instance
    event = push(fn, c, kind, frm, to, **kw)[0]
    fn.pool.steer = None
    return event


def reads(fn):
    return fn.store.calls["LIST"], fn.store.calls["HEAD"], fn.store.calls["PUT"]


def test_a_retry_on_a_warm_instance_is_answered_from_memory():
    fn, c = pooled(), caller()
    on(fn, "new", c, "full", None, 10)
    first = on(fn, "i-1", c, "delta", 10, 20)
    before = reads(fn)
    again = on(fn, "i-1", c, "delta", 10, 20)  # its first answer was lost
    assert (again.status, again.cursor, again.stored_at) == (200, Cursor(0, 20), first.stored_at)
    assert reads(fn) == before  # no listing, no lookup, nothing stored


def test_a_retry_on_another_instance_is_looked_up_and_answered_as_the_first_time():
    fn, c = pooled(), caller()
    on(fn, "new", c, "full", None, 10)
    first = on(fn, "i-1", c, "delta", 10, 20)
    before = reads(fn)
    again = on(fn, "new", c, "delta", 10, 20)  # a cold instance: its listing's head is 20
    assert (again.status, again.cursor, again.stored_at) == (200, Cursor(0, 20), first.stored_at)
    assert first.stored_at < fn.now - 5
    # Refused by the cold instance's listing, taken for this request and so as fresh as a relist
    # (no second listing, as live), then looked up.
    assert reads(fn) == (before[0] + 1, before[1] + 1, before[2])


def test_a_full_retried_on_a_cold_instance_is_looked_up_before_storing():
    fn, c = pooled(), caller()
    first = on(fn, "new", c, "full", None, 10)
    before = reads(fn)
    again = on(fn, "new", c, "full", None, 10)  # the rules would store it: RETRY_CHECK first
    assert (again.status, again.cursor, again.stored_at) == (200, Cursor(0, 10), first.stored_at)
    assert reads(fn) == (before[0] + 1, before[1] + 1, before[2])  # listed, looked up, not stored


def test_a_retry_without_a_pool_after_the_warm_state_relisted_is_looked_up():
    fn, c = function(), caller()
    push(fn, c, "full", None, 10)
    first = push(fn, c, "delta", 10, 20)[0]
    assert push(fn, c, "delta", 30, 40)[0].status == 409  # a gap: relisted, so `last` is gone
    fn.now += 30
    before = reads(fn)
    again = push(fn, c, "delta", 10, 20)[0]
    assert (again.status, again.stored_at) == (200, first.stored_at)
    assert reads(fn) == (before[0] + 1, before[1] + 1, before[2])  # warm refusal, relist, lookup


def test_a_push_at_a_listed_key_with_other_bytes_is_stored_after_its_lookup():
    fn, c = pooled(), caller()
    first = on(fn, "new", c, "full", None, 10, checksum="a")
    resnap = on(fn, "new", c, "full", None, 10, checksum="b")  # same cursor, other bytes
    assert resnap.status == 200 and resnap.stored_at > first.stored_at
    assert fn.store.calls["HEAD"] == 1 and fn.store.calls["PUT"] == 2


def test_two_instances_alternating_confirm_every_push_and_never_fork():
    fn, c = pooled(), caller()
    assert on(fn, "new", c, "full", None, 10).status == 200      # i-1 lists (cold)
    assert on(fn, "new", c, "delta", 10, 20).status == 200       # i-2 lists (cold)
    assert fn.store.calls["LIST"] == 2
    assert on(fn, "i-1", c, "delta", 20, 30).status == 200       # stale head 10: refused, relisted
    assert on(fn, "i-2", c, "delta", 30, 40).status == 200       # stale head 20: refused, relisted
    assert on(fn, "i-2", c, "delta", 40, 50).status == 200       # its own head, still confirmed
    assert fn.store.calls["LIST"] == 5
    # A stale writer's delta from i-1's warm head (30) would fork the chain: the listing fences it.
    stale = on(fn, "i-1", c, "delta", 30, 35, checksum="stale writer")
    assert stale.status == 409 and "cursor gap" in stale.reason
    assert fn.store.calls["LIST"] == 6 and fn.store.calls["HEAD"] == 1
    deltas = [layout.parse_key(i.key) for i in fn.store.list_now(c.prefix + "delta/")]
    assert sorted(d.cursor_from.seq for d in deltas) == [10, 20, 30, 40]  # one chain


def test_one_instance_only_lists_once():
    fn, c = pooled(limit=1), caller()
    on(fn, None, c, "full", None, 10)
    for i in range(1, 6):
        assert on(fn, None, c, "delta", i * 10, i * 10 + 10).status == 200
    assert fn.pool.cold_starts == 1
    assert (fn.store.calls["LIST"], fn.store.calls["HEAD"]) == (1, 0)


def test_a_stale_head_refusal_is_rechecked_and_a_genuine_gap_is_409():
    fn, c = pooled(), caller()
    on(fn, "new", c, "full", None, 10)
    on(fn, "new", c, "delta", 10, 20)
    assert on(fn, "i-1", c, "delta", 20, 30).status == 200       # i-1 saw only the full
    lists, heads, puts = reads(fn)
    gap = on(fn, "i-1", c, "delta", 40, 50)
    assert gap.status == 409 and "cursor gap" in gap.reason
    assert reads(fn) == (lists + 1, heads + 1, puts)              # relisted, looked up, refused


def test_the_relists_and_lookups_take_store_calls_of_time():
    fn, c = function(), caller()
    push(fn, c, "full", None, 10)
    busy = fn.busy_s
    push(fn, c, "delta", 10, 20, size=1000)                      # decided from memory, one PUT
    warm, busy = fn.busy_s - busy, fn.busy_s
    push(fn, c, "delta", 40, 50)                                 # a LIST and a HEAD, no PUT
    gap = fn.busy_s - busy
    t = fn.times
    assert gap - warm == pytest.approx(t.store_call_s - 1000 / t.store_bandwidth_bps)


def test_a_reaped_instance_is_forgotten_and_its_successor_lists_again():
    fn, c = pooled(keep_alive_s=60), caller()
    on(fn, None, c, "full", None, 10)
    on(fn, None, c, "delta", 10, 20)
    assert fn.store.calls["LIST"] == 1
    fn.now += 120                                                 # i-1 idles past its keep-alive
    assert on(fn, None, c, "delta", 20, 30).status == 200
    assert fn.pool.reaped == 1 and fn.pool.cold_starts == 2
    assert fn.store.calls["LIST"] == 2 and "i-1" not in fn._warm  # its memory went with it


def test_the_listing_the_function_keeps_is_what_a_store_listing_finds():
    """A relist reads the function's own Listing (it is the store's only snapshot writer) instead
    of scanning the store: after every push of a mixed run it must hold what a LIST would give."""
    from emulator.protocol.warm_chain import InstanceState
    fn = pooled(keep_alive_s=30)
    rng = random.Random(7)
    callers = [caller("relational-1"), caller("relational-2")]
    heads = {c.prefix: None for c in callers}
    for n in range(400):
        c = rng.choice(callers)
        head, roll = heads[c.prefix], rng.random()
        fn.now += rng.choice((0.001, 1, 10, 40))
        fn.pool.steer = rng.choice((None, None, "new", "i-1", "i-2"))
        to = (head.seq if head else 0) + rng.randint(1, 5)
        if head is None or roll < 0.15:
            parts = rng.choice((None, 2))
            for i in range(1, (parts or 1) + 1):
                push(fn, c, "full", None, to, part=Part(i, parts) if parts else None, checksum=f"f{to}.{i}")
        elif roll < 0.25:
            push(fn, c, "delta", head.seq + 1, to + 1, checksum=f"gap{n}")                # 409
        elif roll < 0.35:
            push(fn, c, "full", None, max(0, head.seq - 1), checksum=f"behind{n}")        # fenced
        else:
            push(fn, c, "delta", head.seq, to, checksum=f"d{to}")
        fn.pool.steer = None
        for prefix in heads:
            listed = InstanceState(prefix)
            infos = fn.store.list_now(prefix)
            listed.reload(filter(None, (layout.parse_key(i.key) for i in infos)), {})
            kept = fn._listings.get(prefix)
            assert (listed.head, set(listed.objects)) == (kept.head, set(kept.objects)) if kept else \
                listed.head is None
            heads[prefix] = listed.head
    assert fn.pool.cold_starts > 2 and fn.pool.reaped and fn.store.retired
