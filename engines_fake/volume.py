"""The engine's volume: its data directory, the only state it keeps.

    instance_id     the generated instance id (seed: persisted to the volume)
    snapshot.wkf    the state at some lsn, one full in the payload format
    wal.wkf         P/X frames appended per write, replayed over the snapshot
    persist.json    the machine's PersistState (durable cursor, epoch, ...)
    ledger.jsonl    acknowledged pushes, restores, exits (the write ledger)
    recovery.json   what the last boot recovered (and, with a witness, lost)
    .lock           flock'ed while an engine has the volume open (one engine per volume)
    scratch/        payloads being pushed or buffered; cleared at boot

Safety: snapshot, persist.json, instance_id and recovery.json are written to a
temp file, fsynced and renamed (then the directory fsynced), so a crash leaves
the old or the new file, never half of one. WAL appends go straight to the OS
with os.write (they survive SIGKILL); the driver fsyncs the WAL every second
and at compaction and exit, so a host crash loses at most about a second. A
torn last WAL frame is cut off at boot. The WAL keeps records after the durable
cursor across compactions (deltas are cut from it) - the machine decides how
many (engine_machine: Compact.retain_after).
"""
from __future__ import annotations

import bisect
import fcntl
import json
import logging
import os
import shutil
from dataclasses import asdict
from pathlib import Path
from typing import Iterable

from emulator.protocol.cursor import Cursor
from emulator.protocol.engine_events import PersistState
from emulator.protocol.engine_payload import (FrameReader, PayloadError, Record, Replay,
                                              full_frames, parse_record, record_frame)

from .records import RecordSet

log = logging.getLogger("wkp.engine.volume")


def write_atomic(path: Path, chunks: Iterable[bytes] | bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as f:
        for chunk in ([chunks] if isinstance(chunks, bytes) else chunks):
            f.write(chunk)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def state_to_json(state: PersistState) -> dict:
    d = asdict(state)
    d["durable"] = str(state.durable) if state.durable else None
    return d


def state_from_json(data: dict) -> PersistState:
    durable = data.get("durable")
    return PersistState(durable=Cursor.parse(durable) if durable else None,
                        epoch=int(data.get("epoch", 0)), last_full_day=data.get("last_full_day"),
                        max_payload=data.get("max_payload"), force_full=bool(data.get("force_full")))


class Volume:
    def __init__(self, root: Path, kind: str):
        self.root, self.kind = Path(root), kind
        self.scratch = self.root / "scratch"
        self.records = RecordSet()
        self.lsn = self.snapshot_lsn = self.epoch = 0
        # the WAL after the last compaction's retain point: lsns and encoded frames,
        # so that a delta ships the WAL's own bytes
        self._wal_lsns: list[int] = []
        self._wal_frames: list[bytes] = []
        self._wal_fd: int | None = None
        self._lock_fd: int | None = None
        self.dirty = False
        self.empty = True

    # ------------------------------------------------------------ open

    def open(self) -> "Volume":
        self.root.mkdir(parents=True, exist_ok=True)
        self._lock()
        shutil.rmtree(self.scratch, ignore_errors=True)
        self.scratch.mkdir()
        snap = self.root / "snapshot.wkf"
        if snap.exists():
            replay = Replay(self.records, kind=self.kind)
            reader = FrameReader()
            replay.feed(reader.feed(snap.read_bytes()))
            reader.close()
            replay.close()
            self.snapshot_lsn = self.lsn = replay.lsn
            self.epoch = replay.epoch
            self.empty = False
        self._load_wal()
        self._wal_fd = os.open(self.root / "wal.wkf", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        return self

    def _lock(self) -> None:
        """One engine per volume: a second one would interleave WAL appends."""
        self._lock_fd = os.open(self.root / ".lock", os.O_CREAT | os.O_RDWR, 0o644)
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._lock_fd)
            self._lock_fd = None
            raise OSError(f"volume {self.root} is in use by another engine") from None

    def _load_wal(self) -> None:
        path = self.root / "wal.wkf"
        if not path.exists():
            return
        data, reader = path.read_bytes(), FrameReader()
        try:
            frames = reader.feed(data)
        except PayloadError as exc:  # a damaged frame: keep the valid prefix, like SQLite's WAL
            log.error("WAL %s is damaged at byte %d (%s): keeping the %d bytes before it",
                      path, reader.consumed, exc, reader.consumed)
            frames = FrameReader().feed(data[:reader.consumed])
        good = reader.consumed
        for f in frames:
            rec = parse_record(f)
            self._remember(rec.lsn, record_frame(rec))
            if rec.lsn > self.lsn:
                if rec.lsn != self.lsn + 1:
                    raise PayloadError(f"WAL jumps from lsn {self.lsn} to {rec.lsn}")
                self.records.apply(rec)
                self.lsn = rec.lsn
            self.empty = False
        if good < len(data):  # a torn last frame from a crash mid-append
            os.truncate(path, good)

    def close(self) -> None:
        if self._wal_fd is not None:
            self.sync()
            os.close(self._wal_fd)
            self._wal_fd = None
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # releases the flock
            self._lock_fd = None

    # ------------------------------------------------------------ identity

    def instance_id(self, configured: str | None, generate) -> tuple[str, bool]:
        """(id, generated_now). A configured id wins and is not written."""
        if configured:
            return configured, False
        path = self.root / "instance_id"
        if path.exists():
            text = path.read_text().strip()
            if text:
                return text, False
        new = generate()
        write_atomic(path, new.encode())
        return new, True

    # ------------------------------------------------------------ writes

    def append(self, key: str, value: bytes | None) -> tuple[int, int]:
        """Apply one write; (lsn, bytes appended to the WAL)."""
        rec = Record(self.lsn + 1, key, value)
        data = record_frame(rec)
        os.write(self._wal_fd, data)
        self.lsn = rec.lsn
        self.records.apply(rec)
        self._remember(rec.lsn, data)
        self.dirty = True
        self.empty = False
        return rec.lsn, len(data)

    def _remember(self, lsn: int, data: bytes) -> None:
        self._wal_lsns.append(lsn)
        self._wal_frames.append(data)

    @property
    def wal_lsns(self) -> list[int]:
        return list(self._wal_lsns)

    def sync(self) -> None:
        if self.dirty and self._wal_fd is not None:
            os.fsync(self._wal_fd)
            self.dirty = False

    def wal_frames(self, after: int, upto: int) -> list[bytes] | None:
        """Frames of the records after < lsn <= upto, or None when the WAL no longer has them all."""
        lo = bisect.bisect_right(self._wal_lsns, after)
        hi = bisect.bisect_right(self._wal_lsns, upto)
        if hi - lo != upto - after or (hi > lo and self._wal_lsns[lo] != after + 1):
            return None
        return self._wal_frames[lo:hi]

    def compact(self, retain_after: int) -> None:
        """Snapshot the state now, keep WAL records after `retain_after`."""
        write_atomic(self.root / "snapshot.wkf", full_frames(self.kind, self.epoch, self.lsn,
                                                              self.records.items()))
        self.snapshot_lsn = self.lsn
        cut = bisect.bisect_right(self._wal_lsns, retain_after)
        self._wal_lsns, self._wal_frames = self._wal_lsns[cut:], self._wal_frames[cut:]
        self._rewrite_wal()

    def install(self, records: RecordSet, lsn: int, epoch: int) -> None:
        """Replace the state with a restored one (the WAL starts empty after it)."""
        self.records, self.lsn, self.epoch = records, lsn, epoch
        self._wal_lsns, self._wal_frames = [], []
        self.compact(lsn)
        self.empty = False

    def _rewrite_wal(self) -> None:
        path = self.root / "wal.wkf"
        if self._wal_fd is not None:
            os.close(self._wal_fd)
        write_atomic(path, self._wal_frames)
        self._wal_fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self.dirty = False

    def unpushed_bytes(self, durable_lsn: int) -> int:
        cut = bisect.bisect_right(self._wal_lsns, durable_lsn)
        return sum(len(f) for f in self._wal_frames[cut:])

    # ------------------------------------------------------------ metadata files

    def load_state(self) -> PersistState:
        path = self.root / "persist.json"
        if not path.exists():
            return PersistState()
        return state_from_json(json.loads(path.read_text()))

    def save_state(self, state: PersistState) -> None:
        self.epoch = state.epoch
        write_atomic(self.root / "persist.json", json.dumps(state_to_json(state)).encode())

    def append_ledger(self, entry: dict) -> None:
        with open(self.root / "ledger.jsonl", "a") as f:
            f.write(json.dumps(entry, sort_keys=True) + "\n")
            f.flush()
            os.fsync(f.fileno())

    def read_ledger(self) -> list[dict]:
        path = self.root / "ledger.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]

    def write_json(self, name: str, data: dict) -> None:
        write_atomic(self.root / name, json.dumps(data, sort_keys=True, indent=1).encode())

    def payload_path(self, token: int) -> Path:
        return self.scratch / f"payload-{token}.bin"
