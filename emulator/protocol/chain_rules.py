"""The function's chain rules: what a push does to its instance's chain, as data.

A driver (the aiohttp function, the simulator's function) holds each
instance's warm state (warm_chain.InstanceState) and its store; these rules
say what to do next, and the driver does the reads and writes they ask for:

    decide(push, key, head, last, relisted=False, head_trusted=...)
        Store()           store the body at `key`
        Duplicate(first)  a retry of a stored push: answer `first` again, store nothing
        Relist(reason)    the warm cache refused, or accepted on a head it cannot
                          trust: list the instance again, then decide(..., relisted=True)
                          (a cache may lag behind another writer)
        LookUp(reason)    a fresh listing refused too: read the metadata of the
                          object at `key` (a retry of a push older than the head?),
                          then after_lookup(push, found, reason)
    after_lookup(push, found, reason)
        Duplicate(found) | Refuse(reason)   (Refuse is 409: CursorConflict(reason))

`push` is anything with the PushFacts attributes (PersistHeaders in the
function; the simulator's own record). The chain itself (head and 409) is
`judge`: seed 000's rules with the decisions doc's idempotency. The warm
chain digest has its own rules (`starts_chain`, `continues`, `digest_step`):
which pushes extend the running sha256 that lets a restore send its checksum
before its body.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Mapping, Protocol

from .codec import Encoding
from .cursor import Cursor
from .errors import CursorConflict
from .headers import Part
from .layout import StoredObject

# Object metadata the function writes with every snapshot (S3 user metadata):
# enough to answer a retried push exactly as the first time.
META_CHECKSUM = "wkp-checksum"
META_REQUEST_ID = "wkp-request-id"
META_STORED_AT = "wkp-stored-at"
META_STATUS = "wkp-status"


class PushFacts(Protocol):
    """What the chain rules read of a push (PersistHeaders has all of it)."""
    kind: str
    cursor_from: Cursor | None
    cursor_to: Cursor
    checksum: str
    request_id: str
    encoding: Encoding
    part: Part | None


class ChainAction(enum.Enum):
    STORE = "store"
    DUPLICATE = "duplicate"


@dataclass(frozen=True)
class Stored:
    """What the function remembers of a stored snapshot object (its metadata)."""
    key: str
    checksum: str
    cursor_to: Cursor
    stored_at: int
    status: int
    request_id: str


# ---------------------------------------------------------------- the chain


def judge(push: PushFacts, key: str, head: Cursor | None,
          existing: Stored | None) -> ChainAction | str:
    """STORE, DUPLICATE, or the reason for a 409 (a str).

    `head` is the highest cursor of the instance's complete snapshots (None if
    empty); `existing` is the object already stored at this push's key, if any.
    - same key, same checksum: a retry of a stored push -> DUPLICATE, answered
      exactly as the first time, storing nothing;
    - a full at or beyond the head -> STORE (a full starts a new chain; equal
      cursor means a re-snapshot without new writes);
    - a full behind the head -> 409: another writer with this instance id is
      ahead (split brain), so this writer is fenced;
    - a delta starting exactly at the head -> STORE; anything else -> 409.
    """
    if existing is not None and existing.key == key and existing.checksum == push.checksum:
        return ChainAction.DUPLICATE
    if push.kind == "full":
        if head is not None and push.cursor_to < head:
            return (f"full at {push.cursor_to} is behind the stored head {head}: "
                    "another writer holds this instance id")
        return ChainAction.STORE
    if head is None:
        return f"delta from {push.cursor_from} but nothing is stored: push a full first"
    if push.cursor_from != head:
        return f"cursor gap: delta from {push.cursor_from}, stored head is {head}"
    return ChainAction.STORE


def decide_chain(push: PushFacts, key: str, head: Cursor | None,
                 existing: Stored | None) -> ChainAction:
    """`judge`, with a 409 raised as CursorConflict (gate 3 of function_rules)."""
    verdict = judge(push, key, head, existing)
    if isinstance(verdict, str):
        raise CursorConflict(verdict)
    return verdict


@dataclass(frozen=True)
class Store:
    """Store the body at the push's key."""


@dataclass(frozen=True)
class Duplicate:
    """A retry of a stored push: answer as the first time (`first`), store nothing."""
    first: Stored


@dataclass(frozen=True)
class Relist:
    """The warm cache refused the push: list the instance again and decide with relisted=True."""
    reason: str


@dataclass(frozen=True)
class LookUp:
    """A fresh listing refused it too: read the metadata of the object at the
    push's key, then call after_lookup with what was found (None if nothing)."""
    reason: str


@dataclass(frozen=True)
class Refuse:
    """409 with this reason (CursorConflict)."""
    reason: str

    def error(self) -> CursorConflict:
        return CursorConflict(self.reason)


Decision = Store | Duplicate | Relist | LookUp | Refuse


def existing_at(last: Stored | None, key: str) -> Stored | None:
    """The warm cache knows the object at `key` only if it is the last one stored."""
    return last if last is not None and last.key == key else None


STALE_HEAD = "the warm head may be stale: more than one function instance has run"


RETRY_CHECK = "an object is already stored at this key: a retry whose first answer was lost?"


def decide(push: PushFacts, key: str, head: Cursor | None, last: Stored | None, *,
           relisted: bool, head_trusted: bool = True,
           listed_at_key: bool = False) -> Store | Duplicate | Relist | LookUp:
    """The first step of a persist against the instance's warm state (head, last
    stored push). A refusal is never final from a cache: it is re-checked against
    a fresh listing, then against the object at the key, before a 409 is sent.

    `head_trusted` False says the head came from a cache another writer may have
    overtaken: once a second instance of the function has run, another instance
    may have stored a push since this one last listed (seed 002), and storing on
    a stale head would fork the chain. Then an acceptance is confirmed against a
    fresh listing too. A head listed for this very request is always trusted.

    `listed_at_key` says the listing holds an object at this push's key that the
    warm state cannot vouch for (a cold or reaped instance): before storing, its
    metadata is looked up, so that a retry is answered as the first time (same
    stored_at) rather than written again (after_lookup)."""
    existing = existing_at(last, key)
    verdict = judge(push, key, head, existing)
    if verdict is ChainAction.STORE:
        if listed_at_key and existing is None:
            return LookUp(RETRY_CHECK)
        return Store() if relisted or head_trusted else Relist(STALE_HEAD)
    if verdict is ChainAction.DUPLICATE:
        return Duplicate(existing)
    return LookUp(verdict) if relisted else Relist(verdict)


def after_lookup(push: PushFacts, found: Stored | None, reason: str) -> Duplicate | Refuse | Store:
    """A push whose object is stored with the same checksum is a retry (its first
    answer was lost): answer it again. Otherwise a push the rules would store
    (RETRY_CHECK) is stored, and anything else is 409."""
    if found is not None and found.checksum == push.checksum:
        return Duplicate(found)
    return Store() if reason == RETRY_CHECK else Refuse(reason)


def stored_response(stored: Stored) -> tuple[int, dict]:
    """The answer to a stored (or duplicate) push."""
    return stored.status, {"cursor": str(stored.cursor_to), "stored_at": stored.stored_at}


def stored_status(async_storage: bool) -> int:
    """202 when the function acknowledges before the store holds the object."""
    return 202 if async_storage else 200


def metadata_for(push: PushFacts, stored_at: int, status: int) -> dict[str, str]:
    """The object metadata written with a snapshot (read back by stored_from_metadata)."""
    return {META_CHECKSUM: push.checksum, META_REQUEST_ID: push.request_id,
            META_STORED_AT: str(stored_at), META_STATUS: str(status)}


def stored_from_metadata(key: str, cursor_to: Cursor, metadata: Mapping[str, str]) -> Stored | None:
    """The Stored record of an object's metadata; None when it was not written by
    this function (a hand-put object has no status to repeat)."""
    try:
        return Stored(key=key, checksum=metadata[META_CHECKSUM], cursor_to=cursor_to,
                      stored_at=int(metadata[META_STORED_AT]), status=int(metadata[META_STATUS]),
                      request_id=metadata.get(META_REQUEST_ID, ""))
    except (KeyError, ValueError):
        return None


# ---------------------------------------------------------------- the warm digest


def starts_chain(push: PushFacts) -> bool:
    """A full (its first part, when split) starts the chain a restore would send."""
    return push.kind == "full" and (push.part is None or push.part.index == 1)


def continues(last: StoredObject | None, push: PushFacts) -> bool:
    """Does this push come right after `last` in restore order, byte for byte?"""
    if last is None or last.encoding is not push.encoding:
        return False
    part = push.part
    if part is not None and part.index > 1:  # the next part of the same snapshot
        return (last.part is not None and last.part.index == part.index - 1
                and last.part.count == part.count and last.kind == push.kind
                and last.cursor_to == push.cursor_to and last.cursor_from == push.cursor_from)
    last_complete = last.part is None or last.part.index == last.part.count
    return push.kind == "delta" and last_complete and last.cursor_to == push.cursor_from


def extends_digest(digest_last: StoredObject | None, push: PushFacts) -> bool:
    """Should the body be hashed onto a copy of the warm chain digest (which ends
    with `digest_last`; None when there is no digest)? Not for a push that starts
    a chain (it gets a digest of its own)."""
    return not starts_chain(push) and digest_last is not None and continues(digest_last, push)


class DigestStep(enum.Enum):
    START = "start"     # the push starts a chain: its own body's hash is the new digest
    EXTEND = "extend"   # the push continued the digest's chain: take the extended copy
    DROP = "drop"       # anything else: no warm digest (the next restore hashes once)


def digest_step(push: PushFacts, *, etag_known: bool, extended: bool) -> DigestStep:
    """After a push is stored. `etag_known` is False for a 202 (the ETag, which
    names the object in the digest, is not known until the upload ends);
    `extended` says whether the body was hashed onto the digest (extends_digest)."""
    if not etag_known:
        return DigestStep.DROP
    if starts_chain(push):
        return DigestStep.START
    return DigestStep.EXTEND if extended else DigestStep.DROP
