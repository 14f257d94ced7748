"""Warm per-instance state: what a warm function instance remembers (seed 002).

A warm Lambda keeps module-level memory between invocations; ours keeps, per
(tenant, engine, instance): the stored snapshot objects, the chain head, the
last stored push (to answer a retry without a lookup), and a running sha256
of the current restore chain (to send a restore's checksum before its body
without reading the chain twice). Everything here is a cache: a cold entry is
rebuilt from one listing, and any doubt (a 409, a failed upload) drops it.
Persists of one instance are serialised by its lock.
"""
from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass, field
from typing import Iterable

from emulator.protocol import layout
from emulator.protocol.codec import Encoding
from emulator.protocol.cursor import Cursor
from emulator.protocol.function_rules import Stored
from emulator.protocol.layout import StoredObject
from emulator.protocol.restore_plan import chain_head

META_CHECKSUM = "wkp-checksum"
META_REQUEST_ID = "wkp-request-id"
META_STORED_AT = "wkp-stored-at"
META_STATUS = "wkp-status"


def etag_hasher(etags: Iterable[str] = ()):
    """A running sha256 over a chain's ETags: which objects a digest covers, in a
    constant size however long the chain grows (a day of one push a second is
    86400 deltas per engine; a tuple of their ETags grew with every push)."""
    hasher = hashlib.sha256()
    for etag in etags:
        hasher.update(etag.encode() + b"\n")
    return hasher


@dataclass
class ChainDigest:
    """sha256 over the bytes of a chain's objects, in restore order, identified
    by their ETags (folded by `etag_hasher`); `last` is the object it ends with,
    which the next push must follow directly (the next part, or a delta from its
    cursor) to extend it."""
    etags: object
    hasher: object
    encoding: Encoding
    last: StoredObject

    @classmethod
    def starting(cls, obj: StoredObject, hasher, encoding: Encoding) -> "ChainDigest":
        return cls(etag_hasher((obj.etag,)), hasher, encoding, obj)

    def extended(self, obj: StoredObject, hasher) -> "ChainDigest":
        etags = self.etags.copy()
        etags.update(obj.etag.encode() + b"\n")
        return ChainDigest(etags, hasher, self.encoding, obj)

    def covers(self, etags: Iterable[str]) -> bool:
        return etag_hasher(etags).digest() == self.etags.digest()


@dataclass
class InstanceState:
    prefix: str
    objects: dict[str, StoredObject] = field(default_factory=dict)
    head: Cursor | None = None
    last: Stored | None = None
    digest: ChainDigest | None = None
    loaded: bool = False
    # 202 pushes acknowledged but still uploading: part of the chain already,
    # though a listing cannot show them yet
    pending: dict[str, StoredObject] = field(default_factory=dict)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def existing(self, key: str) -> Stored | None:
        return self.last if self.last is not None and self.last.key == key else None

    def record(self, obj: StoredObject, stored: Stored) -> None:
        self.objects[obj.key] = obj
        self.last = stored
        self.head = chain_head(self.objects.values()) if obj.part else max(
            filter(None, (self.head, obj.cursor_to)))
        self.prune()

    def prune(self) -> None:
        """Keep only objects at or above the head. The head is the highest cursor a
        complete snapshot reaches (a max), so objects below it can never move it
        again, and nothing else reads them (restores plan from a fresh listing).
        Without this a warm instance kept every object it ever stored: about
        780 bytes per push, for as long as it stayed warm."""
        if self.head is not None:
            self.objects = {k: o for k, o in self.objects.items() if o.cursor_to >= self.head}

    def forget(self) -> None:
        """Drop everything but the lock and pending uploads: the next use relists."""
        self.objects, self.head, self.last, self.digest, self.loaded = {}, None, None, None, False


def stored_from_metadata(key: str, cursor_to: Cursor, metadata) -> Stored | None:
    try:
        return Stored(key=key, checksum=metadata[META_CHECKSUM], cursor_to=cursor_to,
                      stored_at=int(metadata[META_STORED_AT]), status=int(metadata[META_STATUS]),
                      request_id=metadata.get(META_REQUEST_ID, ""))
    except (KeyError, ValueError):
        return None


class Chains:
    """The warm states of every instance this function has seen."""

    def __init__(self):
        self._states: dict[str, InstanceState] = {}

    def state(self, tenant: str, engine: str, instance_id: str) -> InstanceState:
        prefix = layout.instance_prefix(tenant, engine, instance_id)
        if prefix not in self._states:
            self._states[prefix] = InstanceState(prefix)
        return self._states[prefix]

    async def load(self, store, state: InstanceState, *, refresh: bool = False) -> InstanceState:
        if state.loaded and not refresh:
            return state
        digest = state.digest
        # Taken before listing: an upload that lands while we list is then in one or the other.
        pending = dict(state.pending)
        state.forget()
        for info in await store.list(state.prefix):
            obj = layout.parse_key(info.key, info.size, info.etag, info.last_modified)
            if obj is not None:
                state.objects[obj.key] = obj
        state.objects.update(pending)
        state.head = chain_head(state.objects.values())
        state.prune()
        state.digest = digest  # still valid if its ETags still match the chain
        state.loaded = True
        return state

    def forget_all(self) -> None:
        for state in self._states.values():
            state.forget()
