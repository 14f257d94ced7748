"""Warm per-instance chain state: what a warm function instance remembers (seed 002).

A warm Lambda keeps module-level memory between invocations; the function
keeps, per (tenant, engine, instance): the stored snapshot objects at or above
the head, the chain head, the last stored push (to answer a retry without a
lookup), and a running sha256 of the current restore chain (to send a
restore's checksum before its body without reading the chain twice).
Everything here is a cache: a cold entry is rebuilt from one listing
(`reload`), and any doubt (a 409, a failed upload) drops it (`forget`).

Pure data: the driver serialises the persists of one instance with a lock
of its own (emulator/function/chains.py) and does the listing; the simulator
keeps the same state per simulated function instance.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Iterable

from .chain_rules import Stored
from .codec import Encoding
from .cursor import Cursor
from .layout import StoredObject
from .restore_plan import chain_head


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
    cursor) to extend it (chain_rules.extends_digest)."""
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

    def existing(self, key: str) -> Stored | None:
        return self.last if self.last is not None and self.last.key == key else None

    def record(self, obj: StoredObject, stored: Stored) -> None:
        self.objects[obj.key] = obj
        self.last = stored
        if obj.part:  # a part moves the head only once its snapshot is complete
            self.head = chain_head(self.objects.values())
        else:  # max(head, cursor_to) without the tuple, filter and max (once per push)
            head = self.head
            if head is None or obj.cursor_to > head:
                self.head = obj.cursor_to
        self.prune()

    def prune(self) -> None:
        """Keep only objects at or above the head. The head is the highest cursor a
        complete snapshot reaches (a max), so objects below it can never move it
        again, and nothing else reads them (restores plan from a fresh listing).
        Without this a warm instance kept every object it ever stored: about
        780 bytes per push, for as long as it stayed warm."""
        head = self.head
        if head is not None:
            self.objects = {k: o for k, o in self.objects.items() if o.cursor_to >= head}

    def forget(self) -> None:
        """Drop everything but pending uploads: the next use relists."""
        self.objects, self.head, self.last, self.digest, self.loaded = {}, None, None, None, False

    def reload(self, listed: Iterable[StoredObject], pending: dict[str, StoredObject]) -> None:
        """Rebuild from a listing of the prefix. `pending` is the 202 uploads as they
        were before the listing was taken, so an upload that lands meanwhile is in
        one or the other. The digest survives: it is still valid if its ETags still
        match the chain a restore plans (ChainDigest.covers checks that)."""
        digest = self.digest
        self.forget()
        for obj in listed:
            self.objects[obj.key] = obj
        self.objects.update(pending)
        self.head = chain_head(self.objects.values())
        self.prune()
        self.digest = digest
        self.loaded = True
