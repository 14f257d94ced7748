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
