"""The reads a persist takes before it is decided, driven by hand: no store, no I/O."""
from __future__ import annotations

from emulator.protocol import chain_rules as cr
from emulator.protocol import layout
from emulator.protocol.cursor import Cursor as C
from emulator.protocol.persist_steps import LoadListing, ReadKey, carry_out, carry_out_async, persist_steps
from emulator.protocol.warm_chain import InstanceState

from .test_chain_rules import Push, full

PREFIX = layout.instance_prefix("default", "relational", "i-1")


def delta(frm, to, **kw):
    return Push("delta", C(0, frm), C(0, to), **kw)


def listed(*pushes) -> list:
    return [layout.parse_key(p.key, 10, f"etag-{i}", 1.0) for i, p in enumerate(pushes)]


def drive(push, state, *, warm_trusted, listing=(), found=None, key=None):
    """(the steps asked for, the decision): each LoadListing reloads `state` from `listing`.
    `key` is the push's object key (default: its `key`)."""
    asked = []

    def load(refresh):
        asked.append(LoadListing(refresh))
        state.reload(listing, {})

    def read_key():
        asked.append(ReadKey())
        return found
    key = push.key if key is None else key
    return asked, carry_out(persist_steps(push, key, state, warm_trusted=warm_trusted), load, read_key)


def warm(*pushes) -> InstanceState:
    state = InstanceState(PREFIX)
    state.reload(listed(*pushes), {})
    return state


def test_a_cold_instance_lists_once_and_stores_on_that_listing():
    asked, decision = drive(delta(10, 20), InstanceState(PREFIX), warm_trusted=False,
                            listing=listed(full(C(0, 10))))
    assert asked == [LoadListing(False)] and decision == cr.Store()


def test_a_cold_refusal_goes_straight_to_the_lookup_without_a_second_listing():
    asked, decision = drive(delta(20, 30), InstanceState(PREFIX), warm_trusted=True,
                            listing=listed(full(C(0, 10))))
    assert asked == [LoadListing(False), ReadKey()]
    assert isinstance(decision, cr.Refuse) and "cursor gap" in decision.reason


def test_a_trusted_warm_head_stores_without_reading():
    asked, decision = drive(delta(10, 20), warm(full(C(0, 10))), warm_trusted=True)
    assert asked == [] and decision == cr.Store()


def test_an_untrusted_warm_head_is_confirmed_by_a_fresh_listing():
    first = full(C(0, 10))
    asked, decision = drive(delta(10, 20), warm(first), warm_trusted=False, listing=listed(first))
    assert asked == [LoadListing(True)] and decision == cr.Store()


def test_a_stale_warm_refusal_is_relisted_and_stored_when_the_listing_agrees():
    # Another instance stored 10..20 since: the warm head (10) refuses 20..30, the listing accepts it.
    first, other = full(C(0, 10)), delta(10, 20)
    asked, decision = drive(delta(20, 30), warm(first), warm_trusted=True, listing=listed(first, other))
    assert asked == [LoadListing(True)] and decision == cr.Store()


def test_a_retry_whose_answer_was_lost_is_looked_up_and_answered_as_the_first_time():
    first, retried = full(C(0, 10)), delta(10, 20)
    stored = cr.Stored(retried.key, retried.checksum, retried.cursor_to, 1700000000, 200, "rid")
    later = delta(20, 30)
    asked, decision = drive(retried, warm(first, retried, later), warm_trusted=True,
                            listing=listed(first, retried, later), found=stored)
    assert asked == [LoadListing(True), ReadKey()] and decision == cr.Duplicate(stored)


def test_a_key_the_listing_holds_but_memory_cannot_vouch_for_is_looked_up_before_storing():
    again = full(C(0, 10))
    asked, decision = drive(again, InstanceState(PREFIX), warm_trusted=False, listing=listed(again),
                            found=None)
    assert asked == [LoadListing(False), ReadKey()] and decision == cr.Store()


def test_an_asyncio_driver_takes_the_same_reads_to_the_same_decision():
    # carry_out_async awaits the driver's reads; nothing in it runs on a loop of its own, so a
    # coroutine stepped by hand (no event loop, no sleeps) drives it to the end.
    first, retried = full(C(0, 10)), delta(10, 20)
    stored = cr.Stored(retried.key, retried.checksum, retried.cursor_to, 1700000000, 200, "rid")
    later = delta(20, 30)
    listing = listed(first, retried, later)
    state, asked = warm(first, retried, later), []

    async def load(refresh):
        asked.append(LoadListing(refresh))
        state.reload(listing, {})

    async def read_key():
        asked.append(ReadKey())
        return stored
    coro = carry_out_async(persist_steps(retried, retried.key, state, warm_trusted=True), load, read_key)
    try:
        coro.send(None)
    except StopIteration as done:
        decision = done.value
    expected = drive(retried, warm(first, retried, later), warm_trusted=True, listing=listing, found=stored)
    assert (asked, decision) == expected == ([LoadListing(True), ReadKey()], cr.Duplicate(stored))
