"""Properties of the restore planner on random listings (hypothesis; pure).
Profiles: see test_properties_signing.py (WKP_HYPOTHESIS_PROFILE=wkp-deep)."""
from __future__ import annotations

import random
from collections import deque

from hypothesis import given
from hypothesis import strategies as st

from emulator.protocol.codec import Encoding
from emulator.protocol.errors import ChainGap
from emulator.protocol.headers import Part
from emulator.protocol.restore_plan import chain_head, complete_snapshots, plan_restore

from .listing import c, stored
from .test_properties_signing import PROFILE

SEQ = 24  # a small cursor space, so chains, gaps and alternative paths are frequent


@st.composite
def snapshot_objects(draw):
    """The stored objects of one snapshot: whole, or some of its parts after a 413."""
    kind = draw(st.sampled_from(["full", "delta", "delta"]))
    a = draw(st.integers(0, SEQ - 1))
    b = draw(st.integers(a + 1, SEQ))
    frm, to = (c(a), c(b)) if kind == "delta" else (None, c(b))
    encoding = draw(st.sampled_from(list(Encoding)))
    at = draw(st.integers(0, 50))
    if draw(st.integers(0, 3)):
        return [stored(kind, frm, to, encoding=encoding, stored_at=at)]
    count = draw(st.integers(1, 3))
    present = draw(st.sets(st.integers(1, count), min_size=1))
    return [stored(kind, frm, to, encoding=encoding, part=Part(i, count), stored_at=at)
            for i in sorted(present)]


listings = st.lists(snapshot_objects(), max_size=14).map(lambda groups: [o for g in groups for o in g])
up_tos = st.one_of(st.none(), st.integers(0, SEQ).map(c))


def reachable(start, deltas):
    """{cursor: fewest deltas to reach it from start}, by breadth-first search."""
    best, todo = {start: 0}, deque([start])
    while todo:
        at = todo.popleft()
        for d in deltas:
            if d.cursor_from == at and d.cursor_to not in best:
                best[d.cursor_to] = best[at] + 1
                todo.append(d.cursor_to)
    return best


@PROFILE
@given(objects=listings, up_to=up_tos, full_only=st.booleans())
def test_plan_invariants(objects, up_to, full_only):
    complete = complete_snapshots(objects)
    allowed = [s for s in complete if up_to is None or s.cursor_to <= up_to]
    fulls = [s for s in allowed if s.kind == "full"]
    try:
        plan = plan_restore(objects, up_to=up_to, full_only=full_only)
    except ChainGap as gap:
        if not fulls:  # deltas with no full under them: state was lost
            assert gap.restorable is None and any(s.kind == "delta" for s in allowed)
            return
        base = max(s.cursor_to for s in fulls)
        assert not full_only and gap.restorable is not None and gap.restorable >= base
        assert any(s.kind == "delta" and s.cursor_to > gap.restorable and s.cursor_from == gap.next_from
                   for s in allowed)
        return
    if plan is None:
        assert not allowed  # nothing at all, or only incomplete parts
        return
    # the base: a complete full, the newest allowed
    assert plan.full.kind == "full" and plan.full in complete
    assert plan.full.cursor_to == max(s.cursor_to for s in fulls)
    if full_only:
        assert plan.deltas == ()
        return
    # the chain: contiguous, complete, within up_to
    at = plan.full.cursor_to
    for d in plan.deltas:
        assert d.kind == "delta" and d in complete and d.cursor_from == at
        at = d.cursor_to
    assert plan.cursor == at and (up_to is None or at <= up_to)
    deltas = [s for s in allowed if s.kind == "delta" and s.cursor_to > plan.full.cursor_to]
    best = reachable(plan.full.cursor_to, deltas)
    assert plan.cursor == max(best), "the farthest reachable cursor wins"
    assert len(plan.deltas) == best[plan.cursor], "with the fewest deltas"
    assert not any(s.cursor_to > plan.cursor for s in deltas), "a delta beyond the end is a gap"
    # every part of every chosen snapshot, in order
    for snap in (plan.full, *plan.deltas):
        indexes = [o.part.index if o.part else 1 for o in snap.objects]
        assert indexes == list(range(1, len(indexes) + 1))


@PROFILE
@given(objects=listings, up_to=up_tos, seed=st.integers(0, 2**32))
def test_listing_order_does_not_change_the_outcome(objects, up_to, seed):
    """S3 lists in key order, a cache in insertion order: the restored state must not depend on it."""
    def outcome(listing):
        try:
            plan = plan_restore(listing, up_to=up_to)
        except ChainGap as gap:
            return ("gap", gap.restorable, gap.next_from)
        return None if plan is None else (plan.full.cursor_to, plan.cursor, len(plan.deltas))
    shuffled = list(objects)
    random.Random(seed).shuffle(shuffled)
    assert outcome(objects) == outcome(shuffled)


@PROFILE
@given(objects=listings)
def test_chain_head_bounds_every_restore(objects):
    head = chain_head(objects)
    try:
        plan = plan_restore(objects)
    except ChainGap:
        return
    assert (plan is None) or (head is not None and plan.cursor <= head)
