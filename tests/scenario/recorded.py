"""Hand-made evidence, as a live run records it (times relative to T0)."""
from __future__ import annotations

from emulator.scenario.evidence import Evidence, StepRecord

T0 = 1_800_000_000.0


def write(lsn: int, t: float, key: str | None = None) -> dict:
    return {"w": "put", "lsn": lsn, "key": key or f"k{lsn}", "sha": "x", "at": T0 + t}


def ack(lsn: int, t: float, nbytes: int = 100, snapshot: str = "delta") -> dict:
    return {"ack": lsn, "at": T0 + t, "bytes": nbytes, "snapshot": snapshot}


def boot(t: float, how: str = "restored", lost: int = 0, lost_acknowledged: int = 0,
         mismatched: int = 0) -> dict:
    return {"boot": how, "at": T0 + t, "lost_count": lost, "lost_acknowledged": lost_acknowledged,
            "mismatched_count": mismatched, "mismatched": ["k"] * mismatched, "recovered_lsn": 0}


_seq = iter(range(1, 10**6))


def event(name: str, subject: str, t: float, **data) -> dict:
    return {"kind": name, "subject": subject, "at": T0 + t, "seq": next(_seq), "data": data}


def step(index: int, action: str, t: float, engines=(), ok: bool = True, ended: float | None = None) -> StepRecord:
    return StepRecord(index, action, action, t, t, ended if ended is not None else t, ok, tuple(engines))


def function(t: float, persist: dict | None = None, restore: dict | None = None) -> tuple[float, dict]:
    snap = {}
    if persist:
        snap["/persist"] = {"requests": {str(k): v for k, v in persist.items()}, "bytes_in": 0}
    if restore:
        snap["/restore"] = {"requests": {str(k): v for k, v in restore.items()}, "bytes_out": 0}
    return T0 + t, snap


def evidence(**kw) -> Evidence:
    kw.setdefault("start", T0)
    kw.setdefault("end", T0 + 60)
    for key in ("events", "steps", "function_samples", "member_samples"):
        kw[key] = tuple(kw.get(key, ()))
    return Evidence(**kw)
