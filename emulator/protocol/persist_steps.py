"""Which store reads a persist takes before it is decided, in which order (sans-I/O).

chain_rules says what one look at an instance's chain decides; these steps say
which looks to take, so that the aiohttp function, the reference functions'
core and the simulator take the same reads and decide alike. Like h11, the
core is a generator that yields what it needs and is sent the answer:

    steps = persist_steps(push, key, state, warm_trusted=...)
    LoadListing(refresh)  rebuild `state` (warm_chain.InstanceState) from a
                          listing of its prefix; send None
    ReadKey()             read the metadata of the object at `key`; send
                          chain_rules.stored_from_metadata(...) or None
    StopIteration.value   Store() | Duplicate(first) | Refuse(reason)

`carry_out` runs the steps for a synchronous driver, `carry_out_async` for an
asyncio one (it only awaits the driver's own reads: the core still does no I/O). `decided_without_reads` is the steps' decision when
they take no read (a warm instance's common push), without running them.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Awaitable, Callable, Generator

from .chain_rules import Duplicate, LookUp, Refuse, Relist, Store, Stored, after_lookup, decide


@dataclass(frozen=True)
class LoadListing:
    """List the instance's prefix and rebuild its warm state (refresh: even if loaded)."""
    refresh: bool


@dataclass(frozen=True)
class ReadKey:
    """Read the metadata of the object at the push's key."""


Step = LoadListing | ReadKey
Decided = Store | Duplicate | Refuse


def persist_steps(push, key: str, state, *, warm_trusted: bool) -> Generator[Step, object, Decided]:
    """The reads of one persist against `state` (its head, last stored push and objects).

    `warm_trusted` says whether a remembered head can be stored on without
    listing first: only while no other function instance can have written
    since this one last looked (the aiohttp host: only one instance has ever
    run; a platform function never knows, so False)."""
    listed_now = not state.loaded
    if listed_now:
        yield LoadListing(refresh=False)
    decision = _first_look(push, key, state, listed_now, warm_trusted)
    if isinstance(decision, Relist):
        yield LoadListing(refresh=True)
        decision = decide(push, key, state.head, state.last, relisted=True,
                          listed_at_key=key in state.objects)
    if isinstance(decision, LookUp):
        found = yield ReadKey()
        decision = after_lookup(push, found, decision.reason)
    return decision


def _first_look(push, key: str, state, listed_now: bool, warm_trusted: bool):
    """The steps' first decision, on `state` as it is once loaded.
    A listing taken for this very request is as fresh as a relist: decide on it as one."""
    return decide(push, key, state.head, state.last, relisted=listed_now,
                  head_trusted=listed_now or warm_trusted, listed_at_key=key in state.objects)


def decided_without_reads(push, key: str, state, *, warm_trusted: bool) -> Decided | None:
    """What persist_steps(push, key, state, warm_trusted=...) decides when it takes no
    read at all, or None when it would take one (then run the steps).

    It takes none exactly when `state` is loaded and its first look is neither a
    Relist nor a LookUp (so Store or Duplicate): the common push on a warm instance.
    A synchronous driver may ask this first and skip the generator and its driving
    loop, which cost about as much as the decision itself; the decision and the
    reads (none) are the steps' own."""
    if not state.loaded:
        return None
    decision = _first_look(push, key, state, False, warm_trusted)
    return None if isinstance(decision, (Relist, LookUp)) else decision


def carry_out(steps: Generator[Step, object, Decided], load: Callable[[bool], None],
              read_key: Callable[[], Stored | None]) -> Decided:
    """Run the steps with a synchronous driver's `load(refresh)` and `read_key()`."""
    answer = None
    while True:
        try:
            step = steps.send(answer)
        except StopIteration as done:
            return done.value
        answer = load(step.refresh) if type(step) is LoadListing else read_key()


async def carry_out_async(steps: Generator[Step, object, Decided],
                          load: Callable[[bool], Awaitable[object]],
                          read_key: Callable[[], Awaitable[Stored | None]]) -> Decided:
    """`carry_out` for an asyncio driver: `load(refresh)` and `read_key()` are awaited."""
    answer: object = None
    while True:
        try:
            step = steps.send(answer)
        except StopIteration as done:
            return done.value
        answer = await load(step.refresh) if type(step) is LoadListing else await read_key()
