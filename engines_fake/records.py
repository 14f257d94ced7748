"""The engine's state in memory: key -> (lsn of the last write, value).

It is also the sink payload replays write into (engine_payload.Replay), so a
restore, a snapshot load and a WAL replay all build state the same way.
"""
from __future__ import annotations

import hashlib

from emulator.protocol.engine_payload import Record


class RecordSet:
    def __init__(self):
        self._data: dict[str, tuple[int, bytes]] = {}

    def reset(self) -> None:
        self._data.clear()

    def apply(self, rec: Record) -> None:
        if rec.value is None:
            self._data.pop(rec.key, None)
        else:
            self._data[rec.key] = (rec.lsn, rec.value)

    def get(self, key: str) -> tuple[int, bytes] | None:
        return self._data.get(key)

    def __contains__(self, key: str) -> bool:
        return key in self._data

    def __len__(self) -> int:
        return len(self._data)

    def keys(self, prefix: str = "") -> list[str]:
        return sorted(k for k in self._data if k.startswith(prefix))

    def items(self) -> list[Record]:
        """A copy, in key order: what a full snapshot holds."""
        return [Record(lsn, key, value) for key, (lsn, value) in sorted(self._data.items())]

    def value_bytes(self) -> int:
        return sum(len(v) for _, v in self._data.values())

    def digest(self) -> str:
        """sha256 over (key, sha256(value)) in key order: equal digests, equal state."""
        h = hashlib.sha256()
        for key in sorted(self._data):
            h.update(key.encode() + b"\0" + hashlib.sha256(self._data[key][1]).digest())
        return h.hexdigest()


def value_sha(value: bytes | None) -> str | None:
    return hashlib.sha256(value).hexdigest() if value is not None else None
