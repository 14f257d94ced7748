"""The storage interface the function needs, and nothing more (Litestream's shape).

Nine operations, plus one optional capability: `raw_capable` / `open_raw`,
a body left in its socket so that a restore can be spliced in the kernel
(raw_get.py); a backend without it is read through `stream`. Every backend
passes the same contract suite (tests/store/test_object_store.py). Errors: a missing key is `None` or
`NotFound`; a failed create-only put is `PreconditionFailed`; anything that
means "the store cannot be reached or failed transiently" is the protocol's
StoreUnavailable, which the function answers with 503.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import AsyncIterator, Mapping, Protocol

from emulator.protocol.errors import StoreUnavailable

__all__ = ["ObjectInfo", "ObjectStore", "NotFound", "PreconditionFailed", "StoreUnavailable"]


class NotFound(Exception):
    pass


class PreconditionFailed(Exception):
    pass


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int
    etag: str  # without quotes
    last_modified: float  # unix seconds
    metadata: Mapping[str, str] = field(default_factory=dict)


class ObjectStore(Protocol):
    async def ping(self) -> None:
        """Raise StoreUnavailable unless the bucket is reachable."""

    async def list(self, prefix: str) -> list[ObjectInfo]:
        """Every object under `prefix`, in key order (no metadata)."""

    async def head(self, key: str) -> ObjectInfo | None:
        """One object's info with its metadata, None if absent."""

    async def get(self, key: str) -> bytes:
        """A whole (small) object; NotFound if absent."""

    def stream(self, key: str, chunk_size: int = ...) -> AsyncIterator[bytes]:
        """An object's bytes in chunks, never all in memory."""

    async def put(self, key: str, data: bytes, metadata: Mapping[str, str] | None = None,
                  *, if_absent: bool = False) -> ObjectInfo:
        """Store atomically; with if_absent, PreconditionFailed if the key exists."""

    async def put_stream(self, key: str, chunks: AsyncIterator[bytes],
                         metadata: Mapping[str, str] | None = None) -> ObjectInfo:
        """Store a stream atomically: the object appears only if `chunks` ends
        without raising; on any exception nothing is left and it re-raises."""

    async def delete(self, key: str) -> None:
        """Remove one key (absent is fine)."""

    async def delete_prefix(self, prefix: str) -> int:
        """Remove everything under `prefix`; how many objects went."""
