"""An object store in memory: the store interface with no server and no I/O.

It passes the same contract suite as S3Store (tests/store/test_object_store.py)
and serves two users: tests that want a store without moto, and the simulator,
which runs the function's rules over it on a virtual clock (`clock` is any
callable; the simulator passes its own). Besides the interface it has:

- synchronous twins of the calls the simulator makes (`list_now`, `head_now`,
  `put_now`, `delete_now`, `delete_prefix_now`), since a SimPy model does not
  run an event loop; the async methods are thin wrappers over them;
- `put_virtual(key, size, metadata)`: an object that has a size but no bytes.
  The simulator's payloads are sizes (a month of a thousand engines would not
  fit in memory as bytes); reading such an object's bytes raises
  VirtualObject, so nothing can mistake it for data;
- counters of calls by operation (PUT, GET, LIST, HEAD, DELETE), which cost
  models price.

Keys are indexed by their directory (everything up to the last "/"), and the
directories are kept sorted, so that listing one instance's prefix costs the
size of that instance's listing, not of the whole store.
"""
from __future__ import annotations

import bisect
import hashlib
import time
from collections import Counter
from typing import AsyncIterator, Callable, Mapping, NamedTuple

from .interface import NotFound, ObjectInfo, PreconditionFailed

__all__ = ["MemoryStore", "VirtualObject"]


class VirtualObject(Exception):
    """The object has a size but no bytes (the simulator's payloads)."""


class _Entry(NamedTuple):
    """One stored object. A tuple, not a dataclass: the simulator stores one per push
    (millions a month), and a tuple is built in a third of the time and holds less."""
    data: bytes | None
    size: int
    etag: str
    last_modified: float
    metadata: Mapping[str, str]


def _directory(key: str) -> str:
    """The key up to and including its last "/" ("" if it has none)."""
    return key[:key.rfind("/") + 1]  # rfind is -1 without a "/": key[:0]


class MemoryStore:
    raw_capable = False  # no socket to splice from: restores read it through `stream`

    def __init__(self, clock: Callable[[], float] = time.time):
        self._clock = clock
        self._objects: dict[str, _Entry] = {}
        self._dirs: dict[str, set[str]] = {}
        self._dir_order: list[str] = []  # the keys of _dirs, sorted (prefix ranges by bisection)
        self.calls: Counter = Counter()  # operation -> calls (PUT, GET, LIST, HEAD, DELETE)
        self.bytes_stored = 0
        self.retired = 0  # objects dropped from memory that still count as stored (retire)
        self._serial = 0

    # ---- synchronous core -------------------------------------------------------
    def _info(self, key: str, entry: _Entry, metadata: bool = True) -> ObjectInfo:
        return ObjectInfo(key, entry.size, entry.etag, entry.last_modified,
                          dict(entry.metadata) if metadata else {})

    def _store(self, key: str, entry: _Entry, if_absent: bool, directory: str | None = None,
               info: bool = True) -> ObjectInfo | None:
        if not isinstance(key, str) or not key:
            raise ValueError("an object key is a non-empty string")
        self.calls["PUT"] += 1
        if if_absent and key in self._objects:
            raise PreconditionFailed(key)
        old = self._objects.get(key)
        if old is not None:
            self.bytes_stored -= old.size
        self._objects[key] = entry
        d = directory if directory is not None else _directory(key)
        keys = self._dirs.get(d)
        if keys is None:
            keys = self._dirs[d] = set()
            bisect.insort(self._dir_order, d)
        keys.add(key)
        self.bytes_stored += entry.size
        return self._info(key, entry) if info else None

    def put_now(self, key: str, data: bytes, metadata: Mapping[str, str] | None = None,
                *, if_absent: bool = False) -> ObjectInfo:
        data = bytes(data)
        entry = _Entry(data, len(data), hashlib.md5(data).hexdigest(), self._clock(),
                       dict(metadata or {}))
        return self._store(key, entry, if_absent)

    def put_virtual(self, key: str, size: int, metadata: Mapping[str, str] | None = None,
                    *, etag: str | None = None, directory: str | None = None) -> None:
        """An object of `size` bytes that are not kept (see the module's docstring).
        `directory` (the key up to its last "/") saves working it out; the ETag, unless
        given, is a serial number (there are no bytes to hash)."""
        if size < 0:
            raise ValueError("size must be >= 0")
        self._serial += 1
        tag = etag or f"v{self._serial:x}"
        self._store(key, _Entry(None, size, tag, self._clock(), metadata or {}), False, directory, False)

    def list_now(self, prefix: str) -> list[ObjectInfo]:
        self.calls["LIST"] += 1
        return [self._info(k, self._objects[k], metadata=False) for k in sorted(self._keys_under(prefix))]

    def _keys_under(self, prefix: str) -> list[str]:
        """The keys starting with `prefix`: those in the directories at or below it (a range
        of the sorted directories) and in its ancestor directories (filtered by name)."""
        order, dirs = self._dir_order, self._dirs
        keys: list[str] = []
        i = bisect.bisect_left(order, prefix)
        while i < len(order) and order[i].startswith(prefix):
            keys.extend(dirs[order[i]])
            i += 1
        ancestors = [""] + [prefix[:j + 1] for j, ch in enumerate(prefix) if ch == "/"]
        for d in ancestors:
            if d in dirs and not d.startswith(prefix):  # not already taken whole above
                keys.extend(k for k in dirs[d] if k.startswith(prefix))
        return keys

    def _drop_dir_key(self, key: str) -> None:
        d = _directory(key)
        keys = self._dirs[d]
        keys.discard(key)
        if not keys:
            del self._dirs[d]
            del self._dir_order[bisect.bisect_left(self._dir_order, d)]

    def head_now(self, key: str) -> ObjectInfo | None:
        self.calls["HEAD"] += 1
        entry = self._objects.get(key)
        return self._info(key, entry) if entry is not None else None

    def get_now(self, key: str) -> bytes:
        self.calls["GET"] += 1
        entry = self._objects.get(key)
        if entry is None:
            raise NotFound(key)
        if entry.data is None:
            raise VirtualObject(f"{key} has a size ({entry.size} bytes) but no bytes")
        return entry.data

    def clear(self) -> None:
        """Empty the store (the emulator's store reset); not counted as calls."""
        self._objects.clear()
        self._dirs.clear()
        self._dir_order.clear()
        self.bytes_stored = self.retired = 0

    def delete_now(self, key: str) -> None:
        self.calls["DELETE"] += 1
        entry = self._objects.pop(key, None)
        if entry is not None:
            self.bytes_stored -= entry.size
            self._drop_dir_key(key)

    def delete_prefix_now(self, prefix: str) -> int:
        keys = self._keys_under(prefix)
        self.calls["LIST"] += 1
        for key in keys:
            self.delete_now(key)
        return len(keys)

    def retire(self, key: str) -> None:
        """Drop an object from memory while it still counts as stored (bytes_stored,
        `retired`): the simulator retires snapshots older than an instance's newest
        full, which no restore reads again, so a month of pushes fits in memory. Not
        a DELETE: nothing is counted as a call."""
        entry = self._objects.pop(key, None)
        if entry is not None:
            self.retired += 1
            self._drop_dir_key(key)

    def __len__(self) -> int:
        return len(self._objects)

    # ---- the interface (emulator/store/interface.py) -------------------------------
    async def ping(self) -> None:
        return None

    async def list(self, prefix: str) -> list[ObjectInfo]:
        return self.list_now(prefix)

    async def head(self, key: str) -> ObjectInfo | None:
        return self.head_now(key)

    async def get(self, key: str) -> bytes:
        return self.get_now(key)

    async def stream(self, key: str, chunk_size: int = 1024 * 1024) -> AsyncIterator[bytes]:
        data = self.get_now(key)
        for offset in range(0, len(data), chunk_size):
            yield data[offset:offset + chunk_size]

    async def put(self, key: str, data: bytes, metadata: Mapping[str, str] | None = None,
                  *, if_absent: bool = False) -> ObjectInfo:
        return self.put_now(key, data, metadata, if_absent=if_absent)

    async def put_stream(self, key: str, chunks: AsyncIterator[bytes],
                         metadata: Mapping[str, str] | None = None) -> ObjectInfo:
        # Gathered first: the object appears only if the stream ends without raising.
        body = bytearray()
        async for chunk in chunks:
            body += chunk
        return self.put_now(key, bytes(body), metadata)

    async def delete(self, key: str) -> None:
        self.delete_now(key)

    async def delete_prefix(self, prefix: str) -> int:
        return self.delete_prefix_now(prefix)
