"""The simulator's fast paths decide exactly what the general paths decide.

Each shortcut taken for speed (docs/sim.md, "Speed") is checked against the
path it replaces: the in-memory store's bisected prefix listing against a
scan of every key, the world's callback records against SimPy Timeouts (same
order), an empty fault table against a table whose faults never match, the
persist steps' no-read decision against running the steps, the network's
round trip against its two legs, and the collector pause around a run. Pure:
no I/O, no sleeps.
"""
from __future__ import annotations

import gc
import random

import simpy

from emulator.function.faults import Fault, FaultTable
from emulator.protocol import layout
from emulator.protocol.chain_rules import Stored
from emulator.protocol.codec import Encoding
from emulator.protocol.cursor import Cursor
from emulator.protocol.function_instances import InstancePool
from emulator.protocol.function_rules import Limits
from emulator.protocol.headers import Part
from emulator.protocol.persist_steps import decided_without_reads
from emulator.protocol.warm_chain import InstanceState
from emulator.store.memory import MemoryStore, _directory
from sim.model import function as sim_function
from sim.model.function import Caller, PushHead, SimFunction
from sim.model.network import Network
from sim.model.world import World
from sim.runner import _collector_paused
from tests.unit.test_persist_steps import drive


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


def _stored_object(prefix: str, push: PushHead, at: int) -> tuple:
    key = prefix + layout.object_name(push.kind, push.cursor_from, push.cursor_to, push.encoding, push.part)
    return (layout.StoredObject(key, "r-1", push.kind, push.cursor_from, push.cursor_to, push.encoding,
                                push.part, 10, f"e{at}", float(at)),
            Stored(key, push.checksum, push.cursor_to, at, 200, ""))


def _random_push(rng: random.Random) -> PushHead:
    to = rng.randint(1, 12)
    part = rng.choice((None, None, None, Part(1, 2), Part(2, 2)))
    if rng.random() < 0.4:
        return PushHead("full", None, Cursor(0, to), rng.choice("ab"), Encoding.ZSTD, part)
    return PushHead("delta", Cursor(0, to - 1), Cursor(0, to), rng.choice("ab"), Encoding.ZSTD, part)


def test_a_decision_without_reads_is_what_the_steps_decide_when_they_read_nothing():
    """decided_without_reads (the simulator's common push) against running persist_steps: when
    it decides, the steps decide the same and ask for no read; when it does not, they ask."""
    rng, prefix, seen = random.Random(17), _caller().prefix, set()
    for n in range(3000):
        state, listing = InstanceState(prefix), []
        for at in range(rng.randint(0, 6)):
            obj, stored = _stored_object(prefix, _random_push(rng), at)
            state.record(obj, stored)
            listing.append(obj)
        state.loaded = rng.random() < 0.8
        push, trusted = _random_push(rng), rng.random() < 0.5
        key = prefix + layout.object_name(push.kind, push.cursor_from, push.cursor_to, push.encoding, push.part)
        fast = decided_without_reads(push, key, state, warm_trusted=trusted)
        asked, decided = drive(push, state, warm_trusted=trusted, listing=listing, key=key)
        if fast is not None:
            assert (asked, fast) == ([], decided), n
        else:
            assert asked, n
        seen.add((fast is None, type(decided).__name__))
    assert {(False, "Store"), (False, "Duplicate"), (True, "Store"), (True, "Refuse")} <= seen


def test_a_recorded_head_moves_as_max_of_head_and_cursor_did():
    """InstanceState.record sets the head without building max(filter(None, (head, cursor_to)))
    for a whole object (a part still takes chain_head over the objects): the same head."""
    from emulator.protocol.restore_plan import chain_head
    rng, prefix = random.Random(5), _caller().prefix
    for _ in range(300):
        state = InstanceState(prefix)
        for at in range(rng.randint(1, 8)):
            obj, stored = _stored_object(prefix, _random_push(rng), at)
            before = state.head
            state.record(obj, stored)
            objects = {**state.objects, obj.key: obj}  # as record saw them, before its prune
            assert state.head == (chain_head(objects.values()) if obj.part
                                  else max(filter(None, (before, obj.cursor_to))))


def _mixed_run(pool: bool, network: Network) -> list:
    """A function's answers and counters over pushes that store, repeat, refuse and relist."""
    store = MemoryStore(clock=lambda: fn.now)
    fn = SimFunction(store, limits=Limits(max_inflight=3), faults=FaultTable(seed=5), network=network,
                     rng=random.Random(9), pool=InstancePool(limit=3, per_instance_concurrency=1,
                                                             keep_alive_s=20) if pool else None)
    rng, out = random.Random(23), []
    callers = [_caller(), Caller("default", "relational", "r-2", Encoding.ZSTD,
                                 prefix=layout.instance_prefix("default", "relational", "r-2"))]
    heads = {c.prefix: 0 for c in callers}
    for token in range(600):
        c = rng.choice(callers)
        fn.now += rng.choice((0.0005, 1.0, 10.0, 30.0))
        head, roll = heads[c.prefix], rng.random()
        if head == 0 or roll < 0.1:
            frm, to, kind = None, head + rng.randint(0, 3), "full"
        elif roll < 0.2:  # a retry, a gap or a stale writer
            frm, to, kind = max(0, head - rng.randint(0, 2)), head + 1, "delta"
        else:
            frm, to, kind = head, head + rng.randint(1, 4), "delta"
        event, delay = fn.persist(c, token, kind=kind, cursor_from=Cursor(0, frm) if frm is not None else None,
                                  cursor_to=Cursor(0, to), part=None, length=rng.choice((100, 5000)),
                                  checksum=rng.choice(("x", f"{kind}{to}")))
        if getattr(event, "status", None) == 200:
            heads[c.prefix] = max(heads[c.prefix], event.cursor.seq)
        out.append((event, delay))
    warm = {(i, p): (w.head, list(w.objects), w.last) for i, states in fn._warm.items() for p, w in states.items()}
    return out + [dict(fn.requests), store.calls.copy(), store.bytes_stored, store.retired, warm, fn.rng.random()]


def test_the_function_answers_alike_without_its_no_read_shortcut(monkeypatch):
    """SimFunction asks decided_without_reads first; with it always declining (every push runs
    persist_steps), a run with and without a pool, with and without jitter, is the same."""
    runs = [(pool, net) for pool in (False, True) for net in (Network(), Network(jitter_s=0.0004))]
    fast = [_mixed_run(pool, net) for pool, net in runs]
    monkeypatch.setattr(sim_function, "decided_without_reads", lambda *a, **kw: None)
    assert fast == [_mixed_run(pool, net) for pool, net in runs]
    assert {e.status for e, _ in fast[3][:600] if hasattr(e, "status")} >= {200, 409, 429}


def test_a_round_trip_is_its_two_legs():
    """Network.round_trip against one_way(rng) + one_way(rng, nbytes): the same float, the same draws."""
    for net in (Network(), Network(latency_s=0.0), Network(latency_s=0.003, bandwidth_bps=1e6),
                Network(jitter_s=0.002), Network(latency_s=0.0001, jitter_s=0.001)):
        a, b = random.Random(4), random.Random(4)
        for nbytes in (0, 1, 64, 5000, 8 << 20, 12345):
            assert net.round_trip(a, nbytes) == net.one_way(b) + net.one_way(b, nbytes)
        assert a.random() == b.random()


def test_an_object_name_spells_its_cursors_as_key_form_does():
    """layout.object_name formats both cursors at once rather than calling key_form on each."""
    from emulator.protocol.cursor import MAX_FIELD
    rng = random.Random(8)
    values = [0, 1, 9999, 10000, MAX_FIELD - 1, MAX_FIELD]
    for _ in range(500):
        a, b = (Cursor(rng.choice(values + [rng.randint(0, MAX_FIELD)]),
                       rng.choice(values + [rng.randint(0, MAX_FIELD)])) for _ in range(2))
        for encoding in Encoding:
            for part in (None, Part(3, 12)):
                suffix = (f".p{part.index:04d}of{part.count:04d}" if part else "") + "." + encoding.extension
                assert layout.object_name("delta", a, b, encoding, part) == \
                    f"delta/{a.key_form()}_to_{b.key_form()}{suffix}"
                assert layout.object_name("full", None, b, encoding, part) == f"full/{b.key_form()}{suffix}"
                assert layout.parse_key(f"weftkit/t/e/i/{layout.object_name('full', None, b, encoding, part)}")


def test_a_keys_directory_is_everything_up_to_its_last_slash():
    for key in ("a/b/c", "abc", "a/", "/x", "/", "a//b", "", "weftkit/t/e/i/delta/x.zst"):
        assert _directory(key) == (key.rsplit("/", 1)[0] + "/" if "/" in key else "")


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


def test_events_filled_directly_are_the_dataclasses_own():
    """engine_events' direct __init__ (filling __dict__) against each class's generated one:
    the same fields in the same order, equal and alike, a fresh default per instance, frozen."""
    import dataclasses

    import pytest
    from emulator.protocol import engine_events
    classes = [c for c in vars(engine_events).values() if isinstance(c, type) and "_dataclass_init" in vars(c)]
    assert len(classes) >= 25
    for cls in classes:
        fields = dataclasses.fields(cls)
        required = [f.name for f in fields
                    if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
        for names in (required, [f.name for f in fields]):
            values = [(cls.__name__, name) for name in names]
            for args, kwargs in ((values, {}), ((), dict(zip(names, values)))):
                direct, generated = object.__new__(cls), object.__new__(cls)
                direct.__init__(*args, **kwargs)
                cls._dataclass_init(generated, *args, **kwargs)
                assert list(vars(direct).items()) == list(vars(generated).items()), cls
                assert direct == generated and repr(direct) == repr(generated)
                with pytest.raises(dataclasses.FrozenInstanceError):
                    direct.now = 0.0
    assert engine_events.Ledger("ack").fields is not engine_events.Ledger("ack").fields


def _checked_cursor(epoch, seq):
    """A cursor made as the generated __init__ made it, then checked by the general checks."""
    cursor = object.__new__(Cursor)
    cursor.__dict__.update(epoch=epoch, seq=seq)
    cursor._check()
    return cursor


def test_a_cursor_in_range_skips_only_checks_it_would_pass():
    """Cursor's one-test path for plain ints in range against the general checks: the same
    cursors accepted, the same refusals with the same messages; and its text as the f-string made it."""
    import enum

    import pytest

    from emulator.protocol.cursor import MAX_FIELD, CursorError

    class Small(enum.IntEnum):
        ONE = 1
    values = [0, 1, 9999, 10000, 12345, MAX_FIELD, MAX_FIELD + 1, -1, True, False, 1.0, "1", None, Small.ONE]
    for epoch in values:
        for seq in values:
            try:
                general = _checked_cursor(epoch, seq)
            except CursorError as exc:
                with pytest.raises(CursorError) as fast:
                    Cursor(epoch, seq)
                assert str(fast.value) == str(exc)
                continue
            made = Cursor(epoch, seq)
            assert vars(made) == vars(general) and made == general
            assert str(made) == f"wkc_{epoch:04d}_{seq:04d}"


def test_the_worlds_calls_keep_simpys_order_among_timeouts():
    """World.call (a pod's prebuilt record) and World.at against SimPy Timeouts: by time, then
    in the order scheduled, as the callbacks' records test above."""
    class Record:
        def __init__(self, i):
            self.callbacks, self._ok = [lambda _: fired.append(i)], True
    world, fired = World.__new__(World), []
    world.env = env = simpy.Environment()
    for i, delay in enumerate([2.0, 1.0, 2.0, 0.0, -1.0, 1.0, 0.5, 2.0, -0.0]):
        if i % 3 == 0:
            world.call(delay, Record(i))
        elif i % 3 == 1:
            world.at(delay, lambda _, i=i: fired.append(i))
        else:
            env.timeout(max(0.0, delay)).callbacks.append(lambda _, i=i: fired.append(i))
    env.run()
    assert fired == [3, 4, 8, 6, 1, 5, 0, 2, 7]


def test_the_worlds_count_of_starting_pods_is_a_recount(monkeypatch):
    """PlatformWorld draws a start's delay by how many pods are starting: the world's running
    count (kept by Pod.state) against counting the pods at every start, through kills,
    crashes, spot reclaims, recycles and scaling."""
    from emulator.scenario.library import resolve
    from emulator.scenario.loader import load_scenario
    from sim.platform_world import PlatformWorld
    from sim.runner import simulate
    seen, draw = [], PlatformWorld._start_delay

    def recounted(world, slot, rng):
        seen.append((world.starting_pods, sum(1 for p in world.pods.values() if p.state == "starting")))
        return draw(world, slot, rng)
    monkeypatch.setattr(PlatformWorld, "_start_delay", recounted)
    for name in ("spot-interruption", "rolling-recycle", "scale-out-and-in", "instance-id-trap"):
        simulate(load_scenario(resolve(name)))
    assert len(seen) > 10 and max(n for n, _ in seen) > 1
    assert all(kept == counted for kept, counted in seen), seen


def test_cursors_order_as_their_epoch_and_seq_tuples():
    """Cursor's written-out comparisons against the order=True ones they replace (comparing
    (epoch, seq) tuples), and still no order against anything but a cursor."""
    import operator

    import pytest
    rng = random.Random(8)
    values = [0, 1, 2, 9999, 10000, 10**12 - 1]
    cursors = [Cursor(rng.choice(values), rng.choice(values)) for _ in range(60)]
    for a in cursors:
        for b in cursors:
            for op in (operator.lt, operator.le, operator.gt, operator.ge, operator.eq, operator.ne):
                assert op(a, b) is op((a.epoch, a.seq), (b.epoch, b.seq))
    assert sorted(cursors) == sorted(cursors, key=lambda c: (c.epoch, c.seq))
    for other in (1, (0, 1), "wkc_0000_0001", None):
        with pytest.raises(TypeError):
            Cursor(0, 1) < other
        assert Cursor(0, 1) != other
