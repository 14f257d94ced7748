"""Building push payloads and applying restore bodies (blocking code, run in a thread).

A payload is frames (emulator.protocol.engine_payload) compressed as ONE stream
(one zstd frame / gzip member) and written to the volume's scratch space, so a
split push reads byte ranges of a file and a buffered payload survives until
the next tick without holding memory. A restore body is decompressed as one
stream across its concatenated frames/members and replayed into a fresh
RecordSet; the volume swaps it in only once the whole body and its checksum
verified.
"""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Iterable

from emulator.protocol.codec import Encoding
from emulator.protocol.engine_payload import FrameReader, Record, Replay, delta_from_wal, full_frames

from .records import RecordSet

BATCH = 256 * 1024


def full_payload(kind: str, epoch: int, lsn: int, items: list[Record]) -> Iterable[bytes]:
    return full_frames(kind, epoch, lsn, items)


def delta_payload(after: int, upto: int, wal_frames: list[bytes]) -> Iterable[bytes]:
    return delta_from_wal(after, upto, wal_frames)


def write_payload(path: Path, frames: Iterable[bytes], encoding: Encoding) -> int:
    """Compress `frames` into `path`; returns the compressed size."""
    compressor, size, batch = encoding.compressor(), 0, []
    pending = 0
    with open(path, "wb") as f:
        def emit(data: bytes) -> None:
            nonlocal size
            if data:
                f.write(data)
                size += len(data)
        for fr in frames:
            batch.append(fr)
            pending += len(fr)
            if pending >= BATCH:  # feed in batches: per-frame calls cost more than the codec
                emit(compressor.feed(b"".join(batch)))
                batch, pending = [], 0
        emit(compressor.feed(b"".join(batch)))
        emit(compressor.flush())
    return size


def read_range(path: Path, offset: int, length: int) -> bytes:
    with open(path, "rb") as f:
        f.seek(offset)
        data = f.read(length)
    if len(data) != length:
        raise OSError(f"payload {path.name} is shorter than {offset + length} bytes")
    return data


class RestoreIntake:
    """Consumes a restore body chunk by chunk: hash, decompress, replay."""

    def __init__(self, kind: str, encoding: Encoding):
        self.records = RecordSet()
        self.replay = Replay(self.records, kind=kind)
        self.reader = FrameReader()
        self.decoder = encoding.decompressor()
        self.hasher = hashlib.sha256()
        self.size = 0

    def feed(self, chunk: bytes) -> None:
        self.hasher.update(chunk)
        self.size += len(chunk)
        self.replay.feed(self.reader.feed(self.decoder.feed(chunk)))

    def finish(self) -> None:
        """Raises PayloadError / CorruptPayload if the body was cut short or garbled."""
        self.replay.feed(self.reader.feed(self.decoder.flush()))
        self.reader.close()
        self.replay.close()

    @property
    def checksum(self) -> str:
        return self.hasher.hexdigest()
