"""The function's chain rules and warm chain state, with no store: decisions are data."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

import pytest

from emulator.protocol import chain_rules as cr
from emulator.protocol import layout
from emulator.protocol.codec import Encoding
from emulator.protocol.cursor import Cursor as C
from emulator.protocol.errors import CursorConflict
from emulator.protocol.headers import Part
from emulator.protocol.warm_chain import ChainDigest, InstanceState, etag_hasher

ZSTD, GZIP = Encoding.ZSTD, Encoding.GZIP


@dataclass(frozen=True)
class Push:
    """A push as the simulator may describe it: the PushFacts, no HTTP headers."""
    kind: str
    cursor_from: C | None
    cursor_to: C
    checksum: str = "a" * 64
    request_id: str = "rid"
    encoding: Encoding = ZSTD
    part: Part | None = None

    @property
    def key(self) -> str:
        return layout.object_key("default", "relational", "i-1", self.kind, self.cursor_from,
                                 self.cursor_to, self.encoding, self.part)


def full(to, **kw):
    return Push("full", None, to, **kw)


def delta(frm, to, **kw):
    return Push("delta", frm, to, **kw)


def stored(push, status=200, at=100):
    return cr.Stored(push.key, push.checksum, push.cursor_to, at, status, push.request_id)


def obj(push, etag="e"):
    return layout.parse_key(push.key, 10, etag, 1.0)


# ---------------------------------------------------------------- judge / decide


@pytest.mark.parametrize("push, head, verdict", [
    (full(C(0, 5)), None, cr.ChainAction.STORE),
    (full(C(0, 5)), C(0, 5), cr.ChainAction.STORE),
    (full(C(1, 1)), C(0, 900), cr.ChainAction.STORE),
    (full(C(0, 4)), C(0, 5), "behind the stored head"),
    (delta(C(0, 5), C(0, 9)), C(0, 5), cr.ChainAction.STORE),
    (delta(C(0, 6), C(0, 9)), C(0, 5), "cursor gap"),
    (delta(C(0, 0), C(0, 9)), None, "push a full first"),
])
def test_judge(push, head, verdict):
    got = cr.judge(push, push.key, head, None)
    if isinstance(verdict, str):
        assert isinstance(got, str) and verdict in got
        with pytest.raises(CursorConflict):
            cr.decide_chain(push, push.key, head, None)
    else:
        assert got is verdict and cr.decide_chain(push, push.key, head, None) is verdict


def test_a_push_the_cache_accepts_is_stored():
    push = delta(C(0, 5), C(0, 9))
    assert cr.decide(push, push.key, C(0, 5), None, relisted=False) == cr.Store()


def test_a_retry_of_the_last_push_is_a_duplicate_from_the_cache_alone():
    push = delta(C(0, 5), C(0, 9))
    first = stored(push, status=202)
    got = cr.decide(push, push.key, C(0, 9), first, relisted=False)
    assert got == cr.Duplicate(first)
    assert cr.stored_response(got.first) == (202, {"cursor": "wkc_0000_0009", "stored_at": 100})


def test_the_last_push_at_another_key_is_not_a_duplicate():
    push, other = delta(C(0, 5), C(0, 9)), delta(C(0, 5), C(0, 8))
    assert isinstance(cr.decide(push, push.key, C(0, 9), stored(other), relisted=False), cr.Relist)


def test_a_refusal_is_rechecked_on_a_fresh_listing_then_at_the_key_before_a_409():
    push = delta(C(0, 5), C(0, 9))
    first = cr.decide(push, push.key, C(0, 12), None, relisted=False)
    assert isinstance(first, cr.Relist) and "cursor gap" in first.reason
    second = cr.decide(push, push.key, C(0, 12), None, relisted=True)
    assert isinstance(second, cr.LookUp) and second.reason == first.reason
    assert cr.after_lookup(push, None, second.reason) == cr.Refuse(second.reason)
    other_bytes = cr.Stored(push.key, "b" * 64, push.cursor_to, 1, 200, "r0")
    assert cr.after_lookup(push, other_bytes, second.reason) == cr.Refuse(second.reason)
    same = cr.Stored(push.key, push.checksum, push.cursor_to, 1, 200, "r0")
    assert cr.after_lookup(push, same, second.reason) == cr.Duplicate(same)
    err = cr.Refuse(second.reason).error()
    assert isinstance(err, CursorConflict) and err.status_hint == 409 and err.reason == second.reason


def test_metadata_round_trips_and_foreign_objects_have_none():
    push = full(C(0, 5), request_id="r-7")
    meta = cr.metadata_for(push, 1234, cr.stored_status(async_storage=True))
    assert cr.stored_from_metadata(push.key, push.cursor_to, meta) == cr.Stored(
        push.key, push.checksum, push.cursor_to, 1234, 202, "r-7")
    assert cr.stored_status(async_storage=False) == 200
    assert cr.stored_from_metadata(push.key, push.cursor_to, {}) is None
    assert cr.stored_from_metadata(push.key, push.cursor_to, {**meta, cr.META_STATUS: "x"}) is None


class ListedStore:
    """The function's procedure over a dict standing for the bucket, the way a
    simulator carries it out: a listing reloads the warm state, a lookup reads
    one object's metadata. Counts the reads the rules asked for."""

    def __init__(self):
        self.objects: dict[str, tuple] = {}   # key -> (StoredObject, metadata)
        self.lists = self.heads = 0

    def persist(self, state: InstanceState, push: Push, now: int, *, trusted: bool = True):
        warm = state.loaded
        if not warm:
            self.relist(state)
        decision = cr.decide(push, push.key, state.head, state.last, relisted=False,
                             head_trusted=trusted or not warm)
        if isinstance(decision, cr.Relist):
            self.relist(state)
            decision = cr.decide(push, push.key, state.head, state.last, relisted=True)
        if isinstance(decision, cr.LookUp):
            self.heads += 1
            held = self.objects.get(push.key)
            found = cr.stored_from_metadata(push.key, push.cursor_to, held[1]) if held else None
            decision = cr.after_lookup(push, found, decision.reason)
        if isinstance(decision, cr.Store):
            o = layout.parse_key(push.key, 10, f"etag-{now}", float(now))
            self.objects[push.key] = (o, cr.metadata_for(push, now, 200))
            state.record(o, cr.Stored(push.key, push.checksum, push.cursor_to, now, 200,
                                      push.request_id))
        return decision

    def relist(self, state: InstanceState):
        self.lists += 1
        state.reload([o for key, (o, _) in sorted(self.objects.items())
                      if key.startswith(state.prefix)], dict(state.pending))


def test_the_procedure_over_a_bucket_answers_an_old_retry_and_fences_a_stale_writer():
    bucket, state = ListedStore(), InstanceState(layout.instance_prefix("default", "relational", "i-1"))
    f = full(C(0, 5))
    d1, d2 = delta(C(0, 5), C(0, 9), checksum="1" * 64), delta(C(0, 9), C(0, 12), checksum="2" * 64)
    for t, push in enumerate((f, d1, d2), start=1):
        assert bucket.persist(state, push, t) == cr.Store()
    assert (bucket.lists, bucket.heads, state.head) == (1, 0, C(0, 12))
    # d1's answer was lost and it is sent again after d2: the cache refuses, the
    # listing refuses, the object at its key has the same checksum -> first answer
    again = bucket.persist(state, d1, 9)
    assert isinstance(again, cr.Duplicate) and again.first.stored_at == 2
    assert (bucket.lists, bucket.heads) == (2, 1)
    # a writer behind the head with other bytes is fenced
    assert isinstance(bucket.persist(state, full(C(0, 7)), 10), cr.Refuse)
    # a cold function instance (a new state) rebuilds from one listing
    cold = InstanceState(state.prefix)
    assert bucket.persist(cold, delta(C(0, 12), C(0, 20)), 11) == cr.Store()
    assert cold.head == C(0, 20) and bucket.lists == 4


def test_an_untrusted_warm_head_is_confirmed_before_storing():
    push = delta(C(0, 5), C(0, 9))
    got = cr.decide(push, push.key, C(0, 5), None, relisted=False, head_trusted=False)
    assert got == cr.Relist(cr.STALE_HEAD)
    assert cr.decide(push, push.key, C(0, 5), None, relisted=True, head_trusted=False) == cr.Store()
    first = stored(push)   # a retry of the last push needs no confirmation: it stores nothing
    assert cr.decide(push, push.key, C(0, 9), first, relisted=False,
                     head_trusted=False) == cr.Duplicate(first)


def test_two_function_instances_do_not_fork_a_chain_when_heads_are_confirmed():
    """Instance A stored f and d1; instance B (its own warm state) stored d2 on top. An
    engine that retries from d1's head on A must get 409, not a fork beside d2."""
    f, d1 = full(C(0, 5)), delta(C(0, 5), C(0, 9), checksum="1" * 64)
    d2 = delta(C(0, 9), C(0, 12), checksum="2" * 64)
    stale = delta(C(0, 9), C(0, 11), checksum="3" * 64)   # the engine re-cut after a lost answer
    for trusted, forks in ((True, True), (False, False)):
        bucket = ListedStore()
        prefix = layout.instance_prefix("default", "relational", "i-1")
        a, b = InstanceState(prefix), InstanceState(prefix)
        assert bucket.persist(a, f, 1) == cr.Store() and bucket.persist(a, d1, 2) == cr.Store()
        assert bucket.persist(b, d2, 3) == cr.Store()           # B listed: its head was d1's
        got = bucket.persist(a, stale, 4, trusted=trusted)      # A's warm head is still d1's
        assert isinstance(got, cr.Store) is forks
        if not forks:
            assert isinstance(got, cr.Refuse) and "cursor gap" in got.reason


# ---------------------------------------------------------------- warm digest


def test_a_full_or_its_first_part_starts_a_chain():
    assert cr.starts_chain(full(C(0, 5)))
    assert cr.starts_chain(full(C(0, 5), part=Part(1, 3)))
    assert not cr.starts_chain(full(C(0, 5), part=Part(2, 3)))
    assert not cr.starts_chain(delta(C(0, 5), C(0, 9)))


@pytest.mark.parametrize("last, push, expected", [
    (full(C(0, 5)), delta(C(0, 5), C(0, 9)), True),
    (full(C(0, 5)), delta(C(0, 6), C(0, 9)), False),                     # a gap
    (full(C(0, 5)), delta(C(0, 5), C(0, 9), encoding=GZIP), False),      # bytes would not concatenate
    (full(C(0, 5), part=Part(1, 2)), full(C(0, 5), part=Part(2, 2)), True),
    (full(C(0, 5), part=Part(1, 3)), full(C(0, 5), part=Part(3, 3)), False),   # skipped a part
    (full(C(0, 5), part=Part(1, 2)), delta(C(0, 5), C(0, 9)), False),    # the full is incomplete
    (full(C(0, 5), part=Part(2, 2)), delta(C(0, 5), C(0, 9)), True),
    (delta(C(0, 5), C(0, 9), part=Part(1, 2)), delta(C(0, 5), C(0, 9), part=Part(2, 2)), True),
    (delta(C(0, 5), C(0, 9), part=Part(1, 2)), full(C(0, 9), part=Part(2, 2)), False),
    (None, delta(C(0, 5), C(0, 9)), False),
])
def test_continues(last, push, expected):
    assert cr.continues(obj(last) if last else None, push) is expected
    assert cr.extends_digest(obj(last) if last else None, push) is expected


def test_a_new_chain_never_extends_the_old_digest():
    assert not cr.extends_digest(obj(full(C(0, 5))), full(C(0, 5)))


@pytest.mark.parametrize("push, etag_known, extended, step", [
    (full(C(0, 5)), True, False, cr.DigestStep.START),
    (full(C(0, 5)), False, False, cr.DigestStep.DROP),                 # 202: no ETag yet
    (delta(C(0, 5), C(0, 9)), True, True, cr.DigestStep.EXTEND),
    (delta(C(0, 5), C(0, 9)), True, False, cr.DigestStep.DROP),
    (delta(C(0, 5), C(0, 9)), False, True, cr.DigestStep.DROP),
])
def test_digest_step(push, etag_known, extended, step):
    assert cr.digest_step(push, etag_known=etag_known, extended=extended) is step


# ---------------------------------------------------------------- warm state


def test_reload_rebuilds_head_keeps_pending_and_the_digest_and_prunes():
    state = InstanceState("p/")
    f, d = obj(full(C(0, 5)), "e1"), obj(delta(C(0, 5), C(0, 9)), "e2")
    digest = ChainDigest.starting(f, hashlib.sha256(b"x"), ZSTD)
    state.digest, state.last = digest, stored(full(C(0, 5)))
    pending = obj(delta(C(0, 9), C(0, 12)), "")
    state.reload([f, d], {pending.key: pending})
    assert state.loaded and state.head == C(0, 12) and state.digest is digest
    assert state.last is None   # a listing cannot say what was answered last
    assert set(state.objects) == {pending.key}   # only what can still move the head
    state.forget()
    assert (state.loaded, state.head, state.digest, state.objects) == (False, None, None, {})


def test_the_digest_names_its_objects_by_etag_in_constant_size():
    f, d = obj(full(C(0, 5)), "e1"), obj(delta(C(0, 5), C(0, 9)), "e2")
    digest = ChainDigest.starting(f, hashlib.sha256(b"full"), ZSTD).extended(d, hashlib.sha256(b"fd"))
    assert digest.covers(["e1", "e2"]) and not digest.covers(["e1"]) and digest.last == d
    assert digest.etags.digest() == etag_hasher(["e1", "e2"]).digest()


def test_a_store_over_a_listed_object_the_warm_state_cannot_vouch_for_looks_it_up_first():
    # A reaped or cold instance lists the retried full at the head: storing it again would answer a new stored_at.
    push = _push_for_retry_check()
    key = "k"
    decision = cr.decide(push, key, push.cursor_to, None, relisted=False, listed_at_key=True)
    assert isinstance(decision, cr.LookUp) and decision.reason == cr.RETRY_CHECK
    same = cr.Stored(key, push.checksum, push.cursor_to, 1700000000, 200, "r")
    assert cr.after_lookup(push, same, decision.reason) == cr.Duplicate(same)
    other = cr.Stored(key, "other", push.cursor_to, 1700000000, 200, "r")
    assert isinstance(cr.after_lookup(push, other, decision.reason), cr.Store)  # a re-snapshot is stored
    assert isinstance(cr.after_lookup(push, None, decision.reason), cr.Store)
    assert isinstance(cr.decide(push, key, push.cursor_to, None, relisted=False), cr.Store)  # nothing listed there


def _push_for_retry_check():
    from types import SimpleNamespace
    from emulator.protocol.cursor import Cursor
    return SimpleNamespace(kind="full", cursor_from=None, cursor_to=Cursor(0, 7), checksum="abc", part=None,
                           request_id="r", encoding=None)
