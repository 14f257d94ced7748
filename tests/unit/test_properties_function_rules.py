"""Properties of the function's chain gate and of a chain built through it (hypothesis; pure).
Profiles: see test_properties_signing.py (WKP_HYPOTHESIS_PROFILE=wkp-deep)."""
from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from emulator.protocol import function_rules as rules
from emulator.protocol import layout
from emulator.protocol.codec import Encoding
from emulator.protocol.cursor import Cursor
from emulator.protocol.errors import CursorConflict
from emulator.protocol.function_rules import ChainAction, Stored
from emulator.protocol.headers import PersistHeaders
from emulator.protocol.restore_plan import chain_head, plan_restore

from .test_properties_signing import PROFILE

SEQ = 30


@st.composite
def pushes(draw):
    kind = draw(st.sampled_from(["full", "delta", "delta", "delta"]))
    a = draw(st.integers(0, SEQ - 1))
    b = draw(st.integers(a + 1, SEQ))
    checksum = draw(st.sampled_from(["a", "b"])) * 64
    return PersistHeaders(
        engine="vector", version="0.1.0", tenant="default", instance_id="i-1", strategy="incremental",
        kind=kind, cursor_from=Cursor(0, a) if kind == "delta" else None, cursor_to=Cursor(0, b),
        checksum=checksum, timestamp=0, request_id="r", signature="", encoding=Encoding.ZSTD)


def key_of(h: PersistHeaders) -> str:
    return layout.object_key(h.tenant, h.engine, h.instance_id, h.kind, h.cursor_from, h.cursor_to,
                             h.encoding, h.part)


@PROFILE
@given(sequence=st.lists(pushes(), max_size=25))
def test_a_chain_built_through_the_gate_always_restores_to_its_head(sequence):
    """Whatever engines send, what the function stores through decide_chain is a chain
    the planner restores whole (no 409 later) up to the head the gate used."""
    stored: dict[str, Stored] = {}
    objects: list[layout.StoredObject] = []
    for t, h in enumerate(sequence):
        key = key_of(h)
        head = chain_head(objects)
        try:
            action = rules.decide_chain(h, key, head, stored.get(key))
        except CursorConflict:
            assert (h.kind == "full" and head is not None and h.cursor_to < head) or \
                   (h.kind == "delta" and h.cursor_from != head)
            continue
        if action is ChainAction.DUPLICATE:
            assert stored[key].checksum == h.checksum
            continue
        assert h.kind == "full" or h.cursor_from == head
        stored[key] = Stored(key, h.checksum, h.cursor_to, t, 200, "r")
        objects = [o for o in objects if o.key != key] + [layout.parse_key(key, 1, key, float(t))]
        plan = plan_restore(objects)  # never a ChainGap
        assert plan is not None and plan.cursor == chain_head(objects) == h.cursor_to
