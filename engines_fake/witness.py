"""The witness: a write journal kept OUTSIDE the volume (an emulator extension).

The volume's own ledger dies with the volume, which is exactly the case to
prove: after SIGKILL and a boot on an empty volume, what was lost? With
WEFTKIT_ENGINE_WITNESS_DIR (or --witness-dir) set, the engine appends every
acknowledged client write (lsn, key, value sha256) and every acknowledged push
to `witness.jsonl` there, with os.write so it survives SIGKILL. On the next
boot it compares the witness with the state it has (restored or local) and
reports, in /recovery, /status and the volume's recovery.json:

    recovered_lsn          the lsn the state reached
    last_acknowledged_lsn  the highest lsn the function acknowledged before
    lost                   writes with lsn > recovered_lsn (the un-pushed tail)
    lost_acknowledged      lost writes at or below last_acknowledged_lsn (must be 0)
    mismatched             witnessed keys whose restored value differs (must be empty)

Then it rewrites the witness without the lost tail, because the engine's next
writes reuse those lsns, and appends the report (with its time) to
`recoveries.jsonl` beside it, so the lost tail stays on record. Every entry
carries `at` (wall-clock seconds): a write's time and the time its push was
acknowledged give the write's data-at-risk window, which scenarios measure.
One witness directory belongs to one engine slot.
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

from .records import RecordSet, value_sha
from .volume import write_atomic

MAX_LISTED = 1000


class Witness:
    def __init__(self, directory: Path):
        self.dir = Path(directory)
        self.path = self.dir / "witness.jsonl"
        self.recoveries = self.dir / "recoveries.jsonl"
        self._fd: int | None = None

    def _entries(self) -> list[dict]:
        if not self.path.exists():
            return []
        out = []
        for line in self.path.read_text().splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                break  # a torn last line from a kill mid-write
        return out

    def reconcile(self, records: RecordSet, lsn: int, *, boot: str, instance_id: str) -> dict:
        self.dir.mkdir(parents=True, exist_ok=True)
        entries = self._entries()
        writes = [e for e in entries if "w" in e]
        acks = [e["ack"] for e in entries if "ack" in e]
        last_ack = max(acks, default=0)
        expected: dict[str, str | None] = {}
        for w in writes:
            if w["lsn"] <= lsn:
                expected[w["key"]] = w["sha"]
        mismatched = sorted(k for k, sha in expected.items()
                            if value_sha(records.get(k)[1] if records.get(k) else None) != sha)
        lost = [{"lsn": w["lsn"], "key": w["key"], "op": w["w"]} for w in writes if w["lsn"] > lsn]
        report = {"boot": boot, "instance_id": instance_id, "recovered_lsn": lsn,
                  "witnessed_writes": len(writes), "last_acknowledged_lsn": last_ack,
                  "lost_count": len(lost), "lost": lost[:MAX_LISTED],
                  "lost_acknowledged": sum(1 for x in lost if x["lsn"] <= last_ack),
                  "mismatched": mismatched[:MAX_LISTED], "mismatched_count": len(mismatched)}
        kept = [e for e in entries if e.get("lsn", e.get("ack", 0)) <= lsn and ("w" in e or "ack" in e)]
        write_atomic(self.path, b"".join(json.dumps(e, sort_keys=True).encode() + b"\n" for e in kept))
        with self.recoveries.open("a") as f:
            f.write(json.dumps({**report, "at": time.time()}, sort_keys=True) + "\n")
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        return report

    def _append(self, entry: dict) -> None:
        if self._fd is not None:
            os.write(self._fd, json.dumps(entry, sort_keys=True).encode() + b"\n")

    def note_write(self, lsn: int, key: str, value: bytes | None) -> None:
        self._append({"w": "put" if value is not None else "delete", "lsn": lsn, "key": key,
                      "sha": value_sha(value), "at": time.time()})

    def note_ack(self, lsn: int, nbytes: int | None = None, snapshot: str | None = None) -> None:
        entry = {"ack": lsn, "at": time.time()}
        if nbytes is not None:
            entry.update(bytes=nbytes, snapshot=snapshot)
        self._append(entry)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
