"""Listings built by hand for the planner, takeover and layout tests.

Objects go through layout.object_key and layout.parse_key, exactly as the
function sees a bucket listing, so the tests exercise the real key format.
"""
from __future__ import annotations

from emulator.protocol import layout
from emulator.protocol.codec import Encoding
from emulator.protocol.cursor import Cursor
from emulator.protocol.headers import Part

TENANT, ENGINE = "default", "relational"


def c(seq: int, epoch: int = 0) -> Cursor:
    return Cursor(epoch, seq)


def stored(kind: str, cursor_from: Cursor | None, cursor_to: Cursor, *, instance: str = "i-1",
           encoding: Encoding = Encoding.ZSTD, part: Part | None = None,
           stored_at: float = 0.0, size: int = 10) -> layout.StoredObject:
    key = layout.object_key(TENANT, ENGINE, instance, kind, cursor_from, cursor_to, encoding, part)
    obj = layout.parse_key(key, size=size, etag=f"etag-{key}", stored_at=stored_at)
    assert obj is not None, key
    return obj


def full(to: int, *, epoch: int = 0, **kw) -> layout.StoredObject:
    return stored("full", None, c(to, epoch), **kw)


def delta(frm: int, to: int, *, epoch: int = 0, **kw) -> layout.StoredObject:
    return stored("delta", c(frm, epoch), c(to, epoch), **kw)


def parts(make, count: int, present=None, **kw) -> list[layout.StoredObject]:
    """The parts `present` (default: all) of a snapshot split into `count`."""
    indexes = present if present is not None else range(1, count + 1)
    return [make(part=Part(i, count), **kw) for i in indexes]
