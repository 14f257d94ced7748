"""What a scenario run recorded, and the pure measures the expectations read.

Evidence is what the stack already produces, gathered by a runner:
- the control API's events (engine started/stopped/killed/crashed, faults, ...);
- each slot's witness, kept outside its volume: every acknowledged client write
  and every acknowledged push with their times (witness.jsonl), and every
  boot's recovery report (recoveries.jsonl: what was restored, what was lost);
- samples of the function's request counters and of discovery's member states;
- each running engine's write ledger at the end, counted by event (ack,
  restore, boot, dropped, exit), read from its data API before it stops;
- the steps as executed (when each started and ended, and what it answered).

Evidence is plain JSON (`to_json` / `from_json`), so a run's evidence can be
kept and judged again, and tests judge recorded evidence without a stack. All
times are wall-clock seconds; `start` is the scenario's time zero.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Iterable

from emulator.supervisor.fleet import Slot

DOWN_EVENTS = ("engine.stopped", "engine.killed", "engine.crashed", "engine.failed")
DISRUPTION_STARTS = ("engine.killed", "engine.stopping", "engine.crashed")
SPOT_WARNING = "engine.spot_warning"  # a spot reclaim's notice (simulated platforms)


@dataclass(frozen=True)
class StepRecord:
    index: int
    action: str
    description: str
    planned_s: float
    started_s: float
    ended_s: float
    ok: bool
    engines: tuple[str, ...] = ()     # the engines the step acted on, as the control API answered
    error: str = ""
    result: object = None


@dataclass(frozen=True)
class Evidence:
    start: float
    end: float
    events: tuple[dict, ...] = ()
    steps: tuple[StepRecord, ...] = ()
    witness: dict[str, tuple[dict, ...]] = field(default_factory=dict)
    recoveries: dict[str, tuple[dict, ...]] = field(default_factory=dict)
    function_samples: tuple[tuple[float, dict], ...] = ()
    member_samples: tuple[tuple[float, dict], ...] = ()
    ledgers: dict[str, dict[str, int]] = field(default_factory=dict)  # engine -> entries by event

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> "Evidence":
        return cls(data["start"], data["end"], tuple(data.get("events", ())),
                   tuple(StepRecord(**{**s, "engines": tuple(s.get("engines", ()))})
                         for s in data.get("steps", ())),
                   {k: tuple(v) for k, v in data.get("witness", {}).items()},
                   {k: tuple(v) for k, v in data.get("recoveries", {}).items()},
                   tuple((t, s) for t, s in data.get("function_samples", ())),
                   tuple((t, s) for t, s in data.get("member_samples", ())),
                   dict(data.get("ledgers", {})))

    def rel(self, at: float) -> float:
        return round(at - self.start, 3)


# ---- scope -------------------------------------------------------------------
def in_scope(name: str, scope: tuple[str, str] | None) -> bool:
    if scope is None:
        return True
    key, value = scope
    try:
        slot = Slot.parse(name)
    except ValueError:
        return False
    return slot.name == value if key == "engine" else slot.kind == value


def _slots(mapping: dict, scope) -> list[str]:
    return sorted(name for name in mapping if in_scope(name, scope))


# ---- losses --------------------------------------------------------------------
def boots(ev: Evidence, scope=None) -> list[dict]:
    """Recovery reports of boots during the run, each with its slot under "engine"."""
    out = []
    for name in _slots(ev.recoveries, scope):
        out += [{**r, "engine": name} for r in ev.recoveries[name] if r.get("at", ev.start) >= ev.start]
    return sorted(out, key=lambda r: r.get("at", 0))


def losses(ev: Evidence, scope=None) -> dict:
    reports = boots(ev, scope)
    return {"boots": len(reports),
            "restored_boots": sum(1 for r in reports if r.get("boot") == "restored"),
            "lost": sum(r.get("lost_count", 0) for r in reports),
            "lost_acknowledged": sum(r.get("lost_acknowledged", 0) for r in reports),
            "mismatched": sum(r.get("mismatched_count", len(r.get("mismatched", ()))) for r in reports),
            "by_engine": {r["engine"]: r.get("lost_count", 0) for r in reports if r.get("lost_count")}}


# ---- data at risk ------------------------------------------------------------------
@dataclass(frozen=True)
class RiskWindow:
    engine: str
    lsn: int
    written_s: float     # scenario time of the write
    seconds: float       # until the push that covered it was acknowledged
    open: bool = False   # never acknowledged within the evidence: at risk until its end


def risk_windows(ev: Evidence, scope=None) -> list[RiskWindow]:
    """Per write: the time from its acknowledgement by the engine to its durable push."""
    out: list[RiskWindow] = []
    for name in _slots(ev.witness, scope):
        pending: list[dict] = []
        for entry in ev.witness[name]:
            if "w" in entry and entry.get("at", 0) >= ev.start:
                pending.append(entry)
            elif "ack" in entry:
                covered = [w for w in pending if w["lsn"] <= entry["ack"]]
                pending = [w for w in pending if w["lsn"] > entry["ack"]]
                out += [RiskWindow(name, w["lsn"], ev.rel(w["at"]), round(entry["at"] - w["at"], 3))
                        for w in covered]
        out += [RiskWindow(name, w["lsn"], ev.rel(w["at"]), round(ev.end - w["at"], 3), True)
                for w in pending]
    return out


def percentile(values: Iterable[float], p: float) -> float | None:
    """Nearest-rank percentile (p in 1..100); None for no values."""
    ordered = sorted(values)
    if not ordered:
        return None
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def risk_summary(windows: list[RiskWindow]) -> dict:
    seconds = [w.seconds for w in windows]
    return {"writes": len(windows), "open": sum(1 for w in windows if w.open),
            "p50_s": percentile(seconds, 50), "p90_s": percentile(seconds, 90),
            "p99_s": percentile(seconds, 99), "max_s": max(seconds, default=None)}


# ---- recovery ----------------------------------------------------------------------
@dataclass(frozen=True)
class Recovery:
    engine: str
    cause: str           # kill | recycle | restart | crash
    down_s: float        # scenario time the disruption began
    seconds: float | None  # until the engine served again; None: it never did


def _next(events, kinds, subject, after: float):
    return next((e for e in events if e["kind"] in kinds and e["subject"] == subject
                 and e["at"] >= after), None)


def recoveries(ev: Evidence, scope=None) -> list[Recovery]:
    """Every kill, recycle, restart (by a step), crash and spot reclaim: time until serving again."""
    events = sorted(ev.events, key=lambda e: (e["at"], e.get("seq", 0)))
    out, seen = [], set()
    for step in ev.steps:
        if step.action not in ("kill", "recycle", "restart"):
            continue
        for name in step.engines:
            down = _next(events, DISRUPTION_STARTS, name, ev.start + step.started_s - 0.5)
            if down is None or not in_scope(name, scope):
                continue
            seen.add(down.get("seq"))
            out.append(_recovery(ev, events, name, step.action, down))
    for e in events:
        if e["kind"] == "engine.crashed" and e.get("seq") not in seen and in_scope(e["subject"], scope) \
                and e["at"] >= ev.start:
            out.append(_recovery(ev, events, e["subject"], "crash", e))
        elif e["kind"] == SPOT_WARNING and in_scope(e["subject"], scope):  # the simulator's reclaims
            out.append(_recovery(ev, events, e["subject"], "spot", e))
    return out


def _recovery(ev, events, name, cause, down) -> Recovery:
    up = _next(events, ("engine.started",), name, down["at"])
    return Recovery(name, cause, ev.rel(down["at"]), round(up["at"] - down["at"], 3) if up else None)


# ---- function counts -------------------------------------------------------------
def _requests(snapshot: dict) -> dict[tuple[str, str], int]:
    return {(path, status): n for path, info in snapshot.items() if isinstance(info, dict)
            for status, n in info.get("requests", {}).items()}


def request_delta(ev: Evidence) -> dict[tuple[str, str], int]:
    """(path, status) -> requests the function answered during the run."""
    if not ev.function_samples:
        return {}
    first, last = _requests(ev.function_samples[0][1]), _requests(ev.function_samples[-1][1])
    return {k: n - first.get(k, 0) for k, n in last.items() if n - first.get(k, 0)}


def _is_status(status: str, lo: int, hi: int) -> bool:
    return status.isdigit() and lo <= int(status) <= hi


def function_counts(ev: Evidence) -> dict[str, int]:
    d = request_delta(ev)
    persist = {s: n for (p, s), n in d.items() if p == "/persist"}
    restore = {s: n for (p, s), n in d.items() if p == "/restore"}
    counts = {"pushes": persist.get("200", 0) + persist.get("202", 0),
              "push_attempts": sum(persist.values()),
              "restores": restore.get("200", 0), "restores_empty": restore.get("204", 0),
              "status_5xx": sum(n for (_, s), n in d.items() if _is_status(s, 500, 599)),
              "dropped": sum(n for (_, s), n in d.items() if not s.isdigit())}
    for code in ("401", "409", "413", "429"):
        counts[f"status_{code}"] = sum(n for (_, s), n in d.items() if s == code)
    return counts


def engine_pushes(ev: Evidence, scope=None) -> int:
    """Acknowledged pushes of the engines in scope (their witnesses)."""
    return sum(1 for name in _slots(ev.witness, scope) for e in ev.witness[name]
               if "ack" in e and e.get("at", 0) >= ev.start)


def exit_codes(ev: Evidence, engine: str) -> list[int]:
    return [e["data"]["exit_code"] for e in sorted(ev.events, key=lambda e: e["at"])
            if e["subject"] == engine and e["kind"] in DOWN_EVENTS
            and e.get("data", {}).get("exit_code") is not None]


# ---- discovery ----------------------------------------------------------------------
def failure_detections(ev: Evidence, engine: str) -> list[tuple[float, float | None]]:
    """For each kill of `engine`: (scenario time, seconds until discovery said failed)."""
    out = []
    for step in ev.steps:
        if step.action != "kill" or engine not in step.engines:
            continue
        t0 = ev.start + step.started_s
        node = _instance_before(ev, engine, t0)
        seen = next((t for t, members in ev.member_samples
                     if t >= t0 and members.get(node) == "failed"), None)
        out.append((step.started_s, round(seen - t0, 3) if seen is not None else None))
    return out


def _instance_before(ev: Evidence, engine: str, t0: float) -> str:
    started = [e for e in ev.events if e["kind"] == "engine.started" and e["subject"] == engine
               and e["at"] <= t0]
    if started:
        return started[-1].get("data", {}).get("instance_id") or engine
    return engine


# ---- series for the picture --------------------------------------------------------------
def fleet_series(ev: Evidence) -> dict[str, list[tuple[float, int]]]:
    """kind -> [(scenario time, engines running)] as steps of a staircase."""
    running: dict[str, bool] = {}
    out: dict[str, list[tuple[float, int]]] = {}
    for e in sorted(ev.events, key=lambda e: (e["at"], e.get("seq", 0))):
        if e["kind"] not in DOWN_EVENTS + ("engine.started",):
            continue
        running[e["subject"]] = e["kind"] == "engine.started"
        try:
            kind = Slot.parse(e["subject"]).kind
        except ValueError:
            continue
        n = sum(1 for name, up in running.items() if up and name.startswith(kind + "-"))
        out.setdefault(kind, []).append((ev.rel(e["at"]), n))
    return out


def rate_series(ev: Evidence, bucket_s: float | None = None) -> list[tuple[float, float, float]]:
    """[(bucket start, pushes/s, failed requests/s)] from the function's sampled counters.

    Buckets (default: a sixtieth of the run, at least 2 s) smooth the sampling
    grid away, so a push every 2 s reads as 0.5/s rather than as spikes.
    """
    span = max(ev.end - ev.start, 1e-6)
    bucket_s = bucket_s or max(2.0, span / 60)
    n = int(span // bucket_s) + 1
    ok, bad = [0.0] * n, [0.0] * n
    for (_, a), (t1, b) in zip(ev.function_samples, ev.function_samples[1:]):
        ra, rb = _requests(a), _requests(b)
        i = min(n - 1, max(0, int((t1 - ev.start) // bucket_s)))
        for (p, s), count in rb.items():
            moved = count - ra.get((p, s), 0)
            if p == "/persist" and s in ("200", "202"):
                ok[i] += moved
            if not (s.isdigit() and int(s) < 400):
                bad[i] += moved
    return [(round(i * bucket_s, 3), ok[i] / bucket_s, bad[i] / bucket_s) for i in range(n)]


def fault_periods(ev: Evidence) -> list[tuple[float, float, str]]:
    """[(from, to, label)] while faults were set (cleared, or the end of the run)."""
    out, open_at, labels = [], None, []
    for e in sorted(ev.events, key=lambda e: e["at"]):
        if e["kind"] == "fault.set":
            if open_at is None:
                open_at = e["at"]
            data = e.get("data", {})
            labels.append(f"{e['subject']} {data.get('kind', '')} {data.get('status', '')}".strip())
        elif e["kind"] == "fault.cleared" and open_at is not None:
            out.append((ev.rel(open_at), ev.rel(e["at"]), ", ".join(labels)))
            open_at, labels = None, []
    if open_at is not None:
        out.append((ev.rel(open_at), ev.rel(ev.end), ", ".join(labels)))
    return out


def restore_times(ev: Evidence) -> list[tuple[float, str]]:
    return [(ev.rel(r["at"]), r["engine"]) for r in boots(ev) if r.get("boot") == "restored"]
