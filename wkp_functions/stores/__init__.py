"""The synchronous object store the reference functions need, and nothing more.

The same operations as the aiohttp function's asynchronous store
(emulator/store/interface.py), with the same errors and the same ObjectInfo,
so both drivers read one contract: a missing key is None or NotFound; a failed
create-only put is PreconditionFailed; anything meaning "the store cannot be
reached or failed transiently" is StoreUnavailable (the function answers 503).
"""
from __future__ import annotations

from typing import Iterable, Iterator, Mapping, Protocol

from emulator.store.interface import NotFound, ObjectInfo, PreconditionFailed, StoreUnavailable

__all__ = ["SyncStore", "ObjectInfo", "NotFound", "PreconditionFailed", "StoreUnavailable"]


class SyncStore(Protocol):
    def ping(self) -> None:
        """Raise StoreUnavailable unless the bucket is reachable."""

    def list(self, prefix: str) -> list[ObjectInfo]:
        """Every object under `prefix`, in key order (no metadata needed)."""

    def head(self, key: str) -> ObjectInfo | None:
        """One object's info with its metadata, None if absent."""

    def get(self, key: str) -> bytes:
        """A whole (small) object; NotFound if absent."""

    def stream(self, key: str, chunk_size: int) -> Iterator[bytes]:
        """An object's bytes in chunks, never all in memory; NotFound if absent."""

    def put(self, key: str, data: bytes, metadata: Mapping[str, str] | None = None,
            *, if_absent: bool = False) -> ObjectInfo:
        """Store atomically; with if_absent, PreconditionFailed if the key exists."""

    def put_stream(self, key: str, chunks: Iterable[bytes],
                   metadata: Mapping[str, str] | None = None) -> ObjectInfo:
        """Store a stream atomically: the object appears only if `chunks` ends
        without raising; on any exception nothing is left and it re-raises."""

    def delete(self, key: str) -> None:
        """Remove one key (absent is fine)."""
