"""The report of a run: JSON (everything, for machines), a summary (for people), a picture.

`build_report` is pure: the scenario, its evidence and the verdicts in, one
JSON-ready dict out. `summary` renders that dict as text, so the JSON and the
summary cannot disagree. Files: report.json, summary.txt, timeline.png and
evidence.json (the raw evidence, which `wkp-emu scenario judge` can judge again).
"""
from __future__ import annotations

import json
import textwrap
from pathlib import Path

from emulator.durations import format_duration

from . import evidence as E
from .expectations import Verdict, judge
from .model import Scenario


def _per_engine(ev: E.Evidence) -> dict:
    out = {}
    for name in sorted(set(ev.witness) | set(ev.recoveries) | set(ev.ledgers)):
        acks = [e for e in ev.witness.get(name, ()) if "ack" in e and e.get("at", 0) >= ev.start]
        reports = E.boots(ev, ("engine", name))
        out[name] = {"pushes": len(acks), "bytes_pushed": sum(e.get("bytes") or 0 for e in acks),
                     "fulls": sum(1 for e in acks if e.get("snapshot") == "full"),
                     "boots": len(reports),
                     "restores": sum(1 for r in reports if r.get("boot") == "restored"),
                     "writes_lost": sum(r.get("lost_count", 0) for r in reports),
                     "lost_acknowledged": sum(r.get("lost_acknowledged", 0) for r in reports),
                     "exit_codes": E.exit_codes(ev, name),
                     "ledger": ev.ledgers.get(name, {})}
    return out


def _function(ev: E.Evidence) -> dict:
    delta = E.request_delta(ev)
    first = ev.function_samples[0][1] if ev.function_samples else {}
    last = ev.function_samples[-1][1] if ev.function_samples else {}

    def moved(path, key):
        return (last.get(path, {}).get(key, 0) or 0) - (first.get(path, {}).get(key, 0) or 0)
    return {"counts": E.function_counts(ev),
            "requests": {f"{p} {s}": n for (p, s), n in sorted(delta.items())},
            "bytes_in": {p: moved(p, "bytes_in") for p in ("/persist", "/restore")},
            "bytes_out": {p: moved(p, "bytes_out") for p in ("/persist", "/restore")}}


def build_report(scenario: Scenario, ev: E.Evidence, *, runner: str, wall_s: float | None) -> dict:
    """The report of a run; `wall_s` is how long a live run took, None for a simulated run or
    recorded evidence (whose report holds no wall time, so the same file and seed give the same
    bytes; the command prints the simulation's wall time apart)."""
    verdicts = [judge(x, ev) for x in scenario.expectations]
    steps_ok = all(s.ok for s in ev.steps)
    windows = E.risk_windows(ev)
    return {
        "scenario": {"name": scenario.name, "description": scenario.description, "seed": scenario.seed,
                     "duration_s": scenario.duration_s, "source": scenario.source},
        "runner": runner, "wall_s": wall_s,
        "passed": steps_ok and all(v.passed for v in verdicts),
        "timeline": [{"step": s.index, "action": s.action, "what": s.description,
                      "planned_s": s.planned_s, "started_s": s.started_s, "ended_s": s.ended_s,
                      "late_s": round(max(0.0, s.started_s - s.planned_s), 3), "ok": s.ok,
                      "engines": list(s.engines), "error": s.error, "result": s.result} for s in ev.steps],
        "engines": _per_engine(ev),
        "function": _function(ev),
        "losses": E.losses(ev),
        "data_at_risk": {**E.risk_summary(windows),
                         "by_kind": {k: E.risk_summary(E.risk_windows(ev, ("kind", k)))
                                     for k in sorted({n.rsplit("-", 1)[0] for n in ev.witness})}},
        "recoveries": [{"engine": r.engine, "cause": r.cause, "at_s": r.down_s, "seconds": r.seconds}
                       for r in E.recoveries(ev)],
        "faults": [{"from_s": a, "to_s": b, "what": w} for a, b, w in E.fault_periods(ev)],
        "expectations": [v.to_json() for v in verdicts],
    }


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return "-" if value is None else str(value)


def summary(report: dict) -> str:
    s = report["scenario"]
    lines = [f"scenario {s['name']}: {'PASSED' if report['passed'] else 'FAILED'} "
             f"({report['runner']}, {format_duration(s['duration_s'])} timeline"
             + (f", {report['wall_s']}s wall)" if report["wall_s"] is not None else ")"),
             *textwrap.wrap(" ".join(s["description"].split()), 96, initial_indent="  ",
                            subsequent_indent="  "), "", "timeline:"]
    for t in report["timeline"]:
        mark = "ok  " if t["ok"] else "FAIL"
        late = f" (+{t['late_s']:g}s late)" if t["late_s"] > 0.5 else ""
        took = t["ended_s"] - t["started_s"]
        took = f" [{took:.1f}s]" if took >= 0.5 else ""
        lines.append(f"  {mark} t={t['started_s']:7.1f}s  {t['what']}{took}{late}"
                     + (f": {t['error']}" if t["error"] else ""))
    f, loss, risk = report["function"]["counts"], report["losses"], report["data_at_risk"]
    lines += ["", "evidence:",
              f"  function: {f['pushes']} pushes of {f['push_attempts']} attempts, {f['restores']} restores "
              f"({f['restores_empty']} empty), 409 {f['status_409']}, 413 {f['status_413']}, "
              f"429 {f['status_429']}, 401 {f['status_401']}, 5xx {f['status_5xx']}, dropped {f['dropped']}",
              f"  boots {loss['boots']} ({loss['restored_boots']} restored); writes lost {loss['lost']} "
              f"(acknowledged {loss['lost_acknowledged']}, mismatched {loss['mismatched']})",
              f"  data at risk over {risk['writes']} writes: p50 {_fmt(risk['p50_s'])}s, "
              f"p99 {_fmt(risk['p99_s'])}s, worst {_fmt(risk['max_s'])}s"]
    for r in report["recoveries"]:
        lines.append(f"  recovery: {r['engine']} {r['cause']} at t={r['at_s']}s -> "
                     f"{'never' if r['seconds'] is None else str(r['seconds']) + 's'}")
    if "cost" in report:  # simulated runs: the cost section (sim/costs.py, docs/sim.md "Cost")
        from sim.costs import summary_lines
        lines += ["", *summary_lines(report["cost"])]
    lines += ["", "expectations:"]
    for v in report["expectations"]:
        lines.append(f"  {'PASS' if v['passed'] else 'FAIL'}  {v['description']}: measured "
                     f"{_fmt(v['measured'])}, wanted {v['bound']}")
        lines.append(f"        {v['detail']}")
    if not report["expectations"]:
        lines.append("  (none)")
    return "\n".join(lines) + "\n"


def write_report(report: dict, ev: E.Evidence, out_dir: Path, *, picture: bool = True) -> dict[str, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    files = {"report": out_dir / "report.json", "summary": out_dir / "summary.txt",
             "evidence": out_dir / "evidence.json"}
    files["report"].write_text(json.dumps(report, indent=2, sort_keys=True, default=str) + "\n")
    files["summary"].write_text(summary(report))
    files["evidence"].write_text(json.dumps(ev.to_json(), sort_keys=True, default=str) + "\n")
    if picture:
        from .picture import draw
        files["picture"] = draw(report, ev, out_dir / "timeline.png")
    return files


def verdicts_of(report: dict) -> list[Verdict]:
    return [Verdict(**v) for v in report["expectations"]]
