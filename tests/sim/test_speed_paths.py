"""The simulator's fast paths decide exactly what the general paths decide.

Each shortcut taken for speed (docs/sim.md, "Speed") is checked against the
path it replaces: the in-memory store's bisected prefix listing against a
scan of every key, the world's callback records against SimPy Timeouts (same
order), an empty fault table against a table whose faults never match, and
the collector pause around a run. Pure: no I/O, no sleeps.
"""
from __future__ import annotations

import gc
import random

import simpy

from emulator.function.faults import Fault, FaultTable
from emulator.protocol import layout
from emulator.protocol.codec import Encoding
from emulator.protocol.cursor import Cursor
from emulator.protocol.function_rules import Limits
from emulator.store.memory import MemoryStore
from sim.model.function import Caller, SimFunction
from sim.model.network import Network
from sim.model.world import World
from sim.runner import _collector_paused


def test_a_prefix_listing_is_every_key_under_the_prefix_in_order():
    rng, store = random.Random(11), MemoryStore(clock=lambda: 0.0)

    def key() -> str:
        return "/".join(rng.choice(["a", "b", "ab", "c"]) for _ in range(rng.randint(1, 4)))
    for _ in range(3000):
        op = rng.random()
        if op < 0.5:
            store.put_now(key(), b"x")
        elif op < 0.6:
            store.put_virtual(k := key(), 10, directory=k.rsplit("/", 1)[0] + "/" if "/" in k else "")
        elif op < 0.75:
            store.delete_now(key())
        elif op < 0.8:
            store.retire(key())
        else:
            prefix = key()[:rng.randint(0, 6)]
            assert [i.key for i in store.list_now(prefix)] == sorted(
                k for k in store._objects if k.startswith(prefix)), prefix
    under = sum(1 for k in store._objects if k.startswith("a"))
    assert under and store.delete_prefix_now("a") == under
    assert not [k for k in store._objects if k.startswith("a")]
    assert [i.key for i in store.list_now("")] == sorted(store._objects)


def test_callbacks_scheduled_by_the_world_keep_simpys_order_among_timeouts():
    world, fired = World.__new__(World), []
    world.env = env = simpy.Environment()
    for i, delay in enumerate([2.0, 1.0, 2.0, 0.0, -1.0, 1.0]):
        if i % 2:
            world.at(delay, lambda _, i=i: fired.append(i))
        else:
            env.timeout(max(0.0, delay)).callbacks.append(lambda _, i=i: fired.append(i))
    env.run()
    assert fired == [3, 4, 1, 5, 0, 2]  # by time, then in the order scheduled
    assert env.now == 2.0


def _caller() -> Caller:
    return Caller("default", "relational", "r-1", Encoding.ZSTD,
                  prefix=layout.instance_prefix("default", "relational", "r-1"))


def _answers(faults: FaultTable) -> list:
    store = MemoryStore(clock=lambda: fn.now)
    fn = SimFunction(store, limits=Limits(max_inflight=2), faults=faults,
                     network=Network(jitter_s=0.0005), rng=random.Random(3))
    c, out, to = _caller(), [], 0
    for i in range(40):
        fn.now = 1000.0 + i * 0.001          # requests close together: some are throttled (429)
        frm, to = (None, 10) if i == 0 else (to, to + 10)
        event, delay = fn.persist(c, i, kind="full" if frm is None else "delta", cursor_from=Cursor(0, frm)
                                  if frm is not None else None, cursor_to=Cursor(0, to), part=None,
                                  length=500, checksum=str(i))
        out.append((event, delay))
    out.append(fn.restore(c, 99, takeover=False, local_lsn=0))
    out.append(fn.health(c, 100))
    return out + [dict(fn.requests), store.calls.copy(), fn.rng.random()]


def test_an_empty_fault_table_answers_as_one_whose_faults_never_match():
    idle = FaultTable(seed=5)
    idle.add(Fault(kind="error", status=500, paths=("/nowhere",)))
    assert _answers(FaultTable(seed=5)) == _answers(idle)


def test_the_collector_is_paused_during_a_run_and_restored_after():
    assert gc.isenabled()
    with _collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with _collector_paused():
            pass
        assert not gc.isenabled()  # left as the caller had it
    finally:
        gc.enable()
