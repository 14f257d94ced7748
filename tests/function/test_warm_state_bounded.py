"""A warm function instance keeps constant memory per engine, however many pushes it stores.

It used to keep every object it ever stored (about 780 bytes a push) and a
tuple of every ETag of the current chain; 64 engines pushing every second grew
the function by ~3.7 MiB a minute in the soak (bench/soak.py).
"""
from __future__ import annotations

import hashlib

from emulator.function.chains import InstanceState
from emulator.function.keys import CHAINS, STORE
from emulator.protocol import layout
from emulator.protocol.codec import Encoding
from emulator.protocol.cursor import Cursor
from emulator.protocol.function_rules import Stored
from emulator.protocol.headers import Part
from emulator.protocol.restore_plan import plan_restore


def _obj(kind, frm, to, part=None):
    key = layout.object_key("default", "relational", "r-1", kind, frm, to, Encoding.ZSTD, part)
    return layout.parse_key(key, 10, f'"{key[-12:]}"', 1.0)


def _record(state, obj):
    state.record(obj, Stored(obj.key, "sha256=x", obj.cursor_to, 1, 200, "r"))


def test_the_head_moves_as_before_while_objects_below_it_are_dropped():
    state = InstanceState("p/")
    _record(state, _obj("full", None, Cursor(0, 10)))
    for seq in range(10, 1010, 10):
        _record(state, _obj("delta", Cursor(0, seq), Cursor(0, seq + 10)))
    assert state.head == Cursor(0, 1010) and len(state.objects) == 1
    # a split full: the head moves only when every part is there, as chain_head says
    _record(state, _obj("full", None, Cursor(1, 5), Part(1, 2)))
    assert state.head == Cursor(0, 1010) and len(state.objects) == 2
    _record(state, _obj("full", None, Cursor(1, 5), Part(2, 2)))
    assert state.head == Cursor(1, 5) and len(state.objects) == 2


async def test_many_deltas_keep_the_warm_state_small_and_the_warm_checksum_right(function, wkp):
    body = Encoding.ZSTD.compress(b"full" * 100)
    assert (await wkp.persist(body, "full", Cursor(0, 1))).status == 200
    bodies = [body]
    for seq in range(1, 61):
        delta = Encoding.ZSTD.compress(f"delta {seq};".encode() * 20)
        bodies.append(delta)
        assert (await wkp.persist(delta, "delta", Cursor(0, seq + 1), Cursor(0, seq))).status == 200
    state = function.app[CHAINS].state("default", wkp.engine, wkp.instance_id)
    assert len(state.objects) == 1
    assert len(state.digest.etags.digest()) == 32          # a folded hash, not a tuple per push
    listing = await function.app[STORE].list(state.prefix)
    plan = plan_restore(filter(None, (layout.parse_key(i.key, i.size, i.etag, i.last_modified)
                                      for i in listing)))
    assert state.digest.covers(o.etag for o in plan.objects)   # the restore takes the warm path
    got = await wkp.restore()
    assert got.status == 200 and got.body == b"".join(bodies)
    assert got.headers["X-WeftKit-Checksum"] == "sha256=" + hashlib.sha256(got.body).hexdigest()
    assert got.headers["X-WeftKit-Deltas"] == "60"
