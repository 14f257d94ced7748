"""The simulator's function and the reference functions' core decide alike.

One table of push sequences, each push served by a named function instance, is
run against SimFunction (instances from its pool, steered as the live host
steers them) and against wkp_functions.core.FunctionCore (one core per
instance, all over one store): the same status, cursor and stored_at for every
push, and the same objects stored. Both drive emulator/protocol/chain_rules;
this checks they drive it to the same answers. They may differ in how often
they list: the core never trusts a remembered head, the simulator (as the
aiohttp function) only once a second instance has run.

Pure: both run over MemoryStore in this process, on a clock set by hand.
"""
from __future__ import annotations

import hashlib
import json
import random

import pytest

from emulator.function.faults import FaultTable
from emulator.protocol import layout
from emulator.protocol import signed_requests as sr
from emulator.protocol.codec import Encoding
from emulator.protocol.cursor import Cursor
from emulator.protocol.function_instances import InstancePool
from emulator.protocol.function_rules import Limits
from emulator.store.memory import MemoryStore
from sim.model.function import Caller, SimFunction
from sim.model.network import Network
from wkp_functions.core import CoreConfig, FunctionCore

SECRET = "contract-secret"
TENANT, ENGINE, INSTANCE = "default", "relational", "relational-1"
STEP_S = 7  # between pushes: every push ends before the next, and stored_at tells them apart


class SyncMemoryStore:
    """wkp_functions.stores.SyncStore over MemoryStore's synchronous calls."""

    def __init__(self, store: MemoryStore):
        self._s = store

    def ping(self) -> None:
        return None

    def list(self, prefix):
        return self._s.list_now(prefix)

    def head(self, key):
        return self._s.head_now(key)

    def get(self, key):
        return self._s.get_now(key)

    def stream(self, key, chunk_size):
        data = self._s.get_now(key)
        for offset in range(0, len(data), chunk_size):
            yield data[offset:offset + chunk_size]

    def put(self, key, data, metadata=None, *, if_absent=False):
        return self._s.put_now(key, data, metadata, if_absent=if_absent)

    def put_stream(self, key, chunks, metadata=None):
        return self._s.put_now(key, b"".join(chunks), metadata)  # only if the stream ended

    def delete(self, key):
        self._s.delete_now(key)


class SteeredPool(InstancePool):
    """The pool as the live host steers it (X-Wkp-Emu-Instance: "new" or an instance id)."""
    steer: str | None = None

    def acquire(self, now, **kw):
        fresh = self.steer == "new"
        return super().acquire(now, fresh=fresh, prefer=self.steer if self.steer and not fresh else None)


# (function instance, kind, from, to, body): a label names a function instance, the first
# push on it starts it; the body's sha256 is the push's checksum.
SEQUENCES = {
    "a chain, then a retry whose answer was lost": [
        ("a", "full", None, 10, b"f10"), ("a", "delta", 10, 20, b"d20"), ("a", "delta", 10, 20, b"d20"),
        ("a", "delta", 20, 30, b"d30")],
    "a retry on another instance": [
        ("a", "full", None, 10, b"f10"), ("a", "delta", 10, 20, b"d20"), ("b", "delta", 10, 20, b"d20"),
        ("b", "delta", 20, 30, b"d30"), ("a", "delta", 20, 30, b"d30")],
    "a full retried on a cold instance": [
        ("a", "full", None, 10, b"f10"), ("b", "full", None, 10, b"f10"), ("b", "delta", 10, 20, b"d20")],
    "a re-snapshot at the head from a cold instance": [
        ("a", "full", None, 10, b"f10"), ("b", "full", None, 10, b"f10 again"),
        ("a", "delta", 10, 20, b"d20")],
    "two instances alternating, and a stale writer": [
        ("a", "full", None, 10, b"f10"), ("b", "delta", 10, 20, b"d20"), ("a", "delta", 20, 30, b"d30"),
        ("b", "delta", 30, 40, b"d40"), ("b", "delta", 40, 50, b"d50"),
        ("a", "delta", 30, 35, b"stale writer"), ("a", "delta", 50, 60, b"d60")],
    "a gap, a fenced full, and the chain going on": [
        ("a", "full", None, 10, b"f10"), ("a", "delta", 15, 20, b"gap"), ("a", "full", None, 30, b"f30"),
        ("b", "full", None, 25, b"older writer"), ("b", "delta", 30, 40, b"d40")],
    "a retry of a push the head has moved past": [
        ("a", "full", None, 10, b"f10"), ("a", "delta", 10, 20, b"d20"), ("a", "delta", 20, 30, b"d30"),
        ("b", "delta", 10, 20, b"d20"), ("a", "delta", 10, 20, b"d20"), ("a", "delta", 10, 20, b"other")],
    "one instance: a gap, a retry of an older push, a fenced full": [
        ("a", "full", None, 10, b"f10"), ("a", "delta", 10, 20, b"d20"), ("a", "delta", 25, 30, b"gap"),
        ("a", "delta", 10, 20, b"d20"), ("a", "full", None, 30, b"f30"), ("a", "full", None, 25, b"f25"),
        ("a", "full", None, 30, b"f30"), ("a", "delta", 30, 40, b"d40")],
    "a delta before any full": [
        ("a", "delta", 10, 20, b"d20"), ("a", "full", None, 10, b"f10"), ("b", "delta", 10, 20, b"d20")],
}


def _cursor(seq):
    return Cursor(0, seq) if seq is not None else None


def run_sim(steps, *, pool: bool) -> tuple[list, list, int]:
    """(answers, keys stored, objects retired) of SimFunction."""
    store = MemoryStore(clock=lambda: fn.now)
    fn = SimFunction(store, limits=Limits(), faults=FaultTable(seed=1), network=Network(),
                     rng=random.Random(1), pool=SteeredPool(limit=8, keep_alive_s=None) if pool else None)
    fn.now = 1000.0
    caller = Caller(TENANT, ENGINE, INSTANCE, Encoding.ZSTD, 0.0, layout.instance_prefix(TENANT, ENGINE, INSTANCE))
    ids: dict[str, str] = {}
    answers = []
    for token, (label, kind, frm, to, body) in enumerate(steps):
        fn.now += STEP_S
        if pool:
            fn.pool.steer = ids.get(label, "new")
        event, _ = fn.persist(caller, token, kind=kind, cursor_from=_cursor(frm), cursor_to=_cursor(to),
                              part=None, length=len(body), checksum=hashlib.sha256(body).hexdigest())
        if pool and label not in ids:
            ids[label] = f"i-{len(ids) + 1}"
        ok = event.status in (200, 202)
        answers.append((event.status, str(event.cursor) if ok else None, int(event.stored_at) if ok else None))
    return answers, _keys(store), store.retired


def run_core(steps) -> tuple[list, list]:
    """(answers, keys stored) of the reference core, one FunctionCore per function instance."""
    now = [1000.0]
    store = MemoryStore(clock=lambda: now[0])
    cores: dict[str, FunctionCore] = {}
    answers = []
    for token, (label, kind, frm, to, body) in enumerate(steps):
        now[0] += STEP_S
        core = cores.get(label)
        if core is None:
            core = cores[label] = FunctionCore(SyncMemoryStore(store),
                                               CoreConfig(secret=SECRET, clock=lambda: now[0]))
        req = sr.persist_request(secret=SECRET, body=body, now=int(now[0]), request_id=f"r-{token}",
                                 engine=ENGINE, tenant=TENANT, instance_id=INSTANCE, strategy="incremental",
                                 kind=kind, cursor_from=_cursor(frm), cursor_to=_cursor(to),
                                 encoding=Encoding.ZSTD)
        reply = core.handle("POST", req.target, req.headers, body)
        payload = json.loads(reply.body_bytes())
        ok = reply.status in (200, 202)
        answers.append((reply.status, payload["cursor"] if ok else None, payload["stored_at"] if ok else None))
    return answers, _keys(store)


def _keys(store: MemoryStore) -> list[str]:
    return sorted(info.key for info in store.list_now(""))


@pytest.mark.parametrize("name", SEQUENCES)
def test_the_simulated_function_answers_every_push_as_the_reference_core(name):
    steps = SEQUENCES[name]
    core_answers, core_keys = run_core(steps)
    sim_answers, sim_keys, retired = run_sim(steps, pool=True)
    assert sim_answers == core_answers
    # The simulator retires what a complete full superseded (kept as counted bytes, not listed).
    assert set(sim_keys) <= set(core_keys) and len(sim_keys) + retired == len(core_keys)


@pytest.mark.parametrize("name", [n for n, steps in SEQUENCES.items() if {s[0] for s in steps} == {"a"}])
def test_without_a_pool_the_one_warm_state_answers_alike(name):
    steps = SEQUENCES[name]
    answers, keys, retired = run_sim(steps, pool=False)
    core_answers, core_keys = run_core(steps)
    assert answers == core_answers
    assert set(keys) <= set(core_keys) and len(keys) + retired == len(core_keys)


def test_the_table_exercises_every_outcome():
    """Stored, answered again, and refused all occur (a table of only 200s proves little)."""
    answers = [a for steps in SEQUENCES.values() for a in run_core(steps)[0]]
    statuses = {a[0] for a in answers}
    assert statuses == {200, 409}
    stored_at = [a[2] for a in answers if a[0] == 200]
    assert len(stored_at) > len(set(stored_at))  # some pushes were answered as the first time
