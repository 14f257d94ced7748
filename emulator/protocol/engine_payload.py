"""The fake engines' payload format: self-delimiting frames.

WKP-1 bodies are opaque to the function, but a restore body is a full followed
by deltas, each compressed on its own and then concatenated. Decompressing the
concatenation (codec decompressors read across frames/members) yields the
concatenation of the plain payloads, so the plain format must be readable
record by record without knowing where one push ended: every frame carries its
own type, length and CRC.

    frame  := b"WK" type:1 length:u32 body crc32(type+body):u32     (big-endian)
    full   := F(epoch:u64 lsn:u64 count:u64 kind) P* f(lsn:u64 count:u64)
    delta  := D(from:u64 to:u64 count:u64) (P|X)* d(to:u64)
    P      := lsn:u64 keylen:u16 key value        (a put; in a full, lsn = last write)
    X      := lsn:u64 keylen:u16 key              (a delete)

A full resets the state; a delta must start exactly where the state is (its
`from` equals the current lsn) and its records must lie in (from, to]. The
same frames serve the volume: `snapshot.wkf` is one full, the WAL is bare P/X
frames. `Replay` checks all of this and raises PayloadError with the reason.
"""
from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from typing import Iterable, Protocol

MAGIC = b"WK"
_HEAD = struct.Struct(">2scI")
_CRC = struct.Struct(">I")
_U64X3 = struct.Struct(">QQQ")
_U64X2 = struct.Struct(">QQ")
_U64 = struct.Struct(">Q")
_REC = struct.Struct(">QH")
MAX_KEY = 1024
MAX_FRAME = 256 * 1024 * 1024

FULL, FULL_END, DELTA, DELTA_END, PUT, DELETE = b"F", b"f", b"D", b"d", b"P", b"X"


class PayloadError(ValueError):
    pass


@dataclass(frozen=True)
class Record:
    lsn: int
    key: str
    value: bytes | None  # None: a delete


def frame(kind: bytes, body: bytes) -> bytes:
    return _HEAD.pack(MAGIC, kind, len(body)) + body + _CRC.pack(zlib.crc32(kind + body))


def record_frame(rec: Record) -> bytes:
    key = rec.key.encode()
    if len(key) > MAX_KEY:
        raise PayloadError(f"key of {len(key)} bytes exceeds {MAX_KEY}")
    head = _REC.pack(rec.lsn, len(key)) + key
    if rec.value is None:
        return frame(DELETE, head)
    return frame(PUT, head + rec.value)


def full_frames(kind: str, epoch: int, lsn: int, items: Iterable[Record]):
    """A full snapshot as an iterator of frames (so a big one streams)."""
    items = list(items)
    yield frame(FULL, _U64X3.pack(epoch, lsn, len(items)) + kind.encode())
    for rec in items:
        yield record_frame(rec)
    yield frame(FULL_END, _U64X2.pack(lsn, len(items)))


def delta_frames(from_lsn: int, to_lsn: int, records: Iterable[Record]):
    return delta_from_wal(from_lsn, to_lsn, [record_frame(rec) for rec in records])


def delta_from_wal(from_lsn: int, to_lsn: int, wal_frames: list[bytes]):
    """A delta around record frames exactly as the WAL holds them: the WAL's
    bytes ship as they are, nothing is decoded or re-encoded."""
    yield frame(DELTA, _U64X3.pack(from_lsn, to_lsn, len(wal_frames)))
    yield b"".join(wal_frames)
    yield frame(DELTA_END, _U64.pack(to_lsn))


@dataclass(frozen=True)
class Frame:
    kind: bytes
    body: bytes


class FrameReader:
    """Incremental frame parser: feed bytes, get whole frames back."""

    def __init__(self):
        self._buf = bytearray()
        self.consumed = 0  # bytes of complete, valid frames so far

    def feed(self, data: bytes) -> list[Frame]:
        self._buf += data
        out, at = [], 0
        while len(self._buf) - at >= _HEAD.size:
            magic, kind, length = _HEAD.unpack_from(self._buf, at)
            if magic != MAGIC:
                raise PayloadError(f"bad frame magic at byte {self.consumed}")
            if length > MAX_FRAME:
                raise PayloadError(f"frame of {length} bytes is implausible")
            end = at + _HEAD.size + length + _CRC.size
            if len(self._buf) < end:
                break
            body = bytes(self._buf[at + _HEAD.size:end - _CRC.size])
            (crc,) = _CRC.unpack_from(self._buf, end - _CRC.size)
            if crc != zlib.crc32(kind + body):
                raise PayloadError(f"frame CRC mismatch at byte {self.consumed}")
            out.append(Frame(kind, body))
            self.consumed += end - at
            at = end
        del self._buf[:at]
        return out

    @property
    def pending(self) -> int:
        return len(self._buf)

    def close(self) -> None:
        if self._buf:
            raise PayloadError(f"payload ends inside a frame ({len(self._buf)} stray bytes)")


def parse_record(f: Frame) -> Record:
    lsn, keylen = _REC.unpack_from(f.body)
    key = f.body[_REC.size:_REC.size + keylen].decode()
    value = f.body[_REC.size + keylen:] if f.kind == PUT else None
    return Record(lsn, key, value)


class Sink(Protocol):
    def reset(self) -> None: ...
    def apply(self, rec: Record) -> None: ...


class Replay:
    """Applies frames to a sink, checking the full/delta grammar and the lsns."""

    def __init__(self, sink: Sink, *, kind: str | None = None, lsn: int = 0, bare: bool = False):
        self.sink, self.kind, self.lsn = sink, kind, lsn
        self.epoch = 0
        self.fulls = self.deltas = self.records = 0
        self._section: tuple | None = None  # (type, end_lsn, expected_count, seen)
        self._bare = bare  # WAL: records outside any section

    def feed(self, frames: Iterable[Frame]) -> None:
        for f in frames:
            if f.kind == FULL:
                self._begin_full(f.body)
            elif f.kind == DELTA:
                self._begin_delta(f.body)
            elif f.kind in (PUT, DELETE):
                self._record(parse_record(f))
            elif f.kind in (FULL_END, DELTA_END):
                self._end(f.kind, f.body)
            else:
                raise PayloadError(f"unknown frame type {f.kind!r}")

    def _begin_full(self, body: bytes) -> None:
        self._no_section("full")
        epoch, lsn, count = _U64X3.unpack_from(body)
        kind = body[_U64X3.size:].decode()
        if self.kind and kind != self.kind:
            raise PayloadError(f"full snapshot of a {kind!r} engine, not {self.kind!r}")
        self.sink.reset()
        self.epoch, self.lsn = epoch, lsn
        self._section = ("full", lsn, count, 0)

    def _begin_delta(self, body: bytes) -> None:
        self._no_section("delta")
        start, end, count = _U64X3.unpack_from(body)
        if start != self.lsn:
            raise PayloadError(f"delta from lsn {start} but the state is at lsn {self.lsn}")
        if end <= start:
            raise PayloadError(f"delta {start}..{end} is empty or backwards")
        self._section = ("delta", end, count, 0)

    def _record(self, rec: Record) -> None:
        if self._section is None:
            if not self._bare:
                raise PayloadError("record outside a full or delta")
            if rec.lsn != self.lsn + 1:
                raise PayloadError(f"WAL record lsn {rec.lsn} does not follow {self.lsn}")
            self.lsn = rec.lsn
        else:
            typ, end, count, seen = self._section
            if typ == "delta" and not self.lsn < rec.lsn <= end:
                raise PayloadError(f"delta record lsn {rec.lsn} outside ({self.lsn}, {end}]")
            if typ == "full" and rec.lsn > end:
                raise PayloadError(f"full record lsn {rec.lsn} beyond the full's lsn {end}")
            if typ == "delta":
                self.lsn = rec.lsn
            self._section = (typ, end, count, seen + 1)
        self.records += 1
        self.sink.apply(rec)

    def _end(self, kind: bytes, body: bytes) -> None:
        if self._section is None:
            raise PayloadError("section end without a beginning")
        typ, end, count, seen = self._section
        if (typ == "full") != (kind == FULL_END):
            raise PayloadError(f"{typ} closed by the wrong frame")
        if seen != count:
            raise PayloadError(f"{typ} declared {count} records but held {seen}")
        (closing,) = _U64.unpack_from(body)
        if closing != end:
            raise PayloadError(f"{typ} ends at lsn {closing}, declared {end}")
        self.lsn = end
        self._section = None
        if typ == "full":
            self.fulls += 1
        else:
            self.deltas += 1

    def _no_section(self, what: str) -> None:
        if self._section is not None:
            raise PayloadError(f"{what} begins inside an unfinished {self._section[0]}")

    def close(self) -> None:
        if self._section is not None:
            raise PayloadError(f"payload ends inside a {self._section[0]}")
