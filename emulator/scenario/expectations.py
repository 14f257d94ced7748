"""Verdicts: each expectation judged on recorded evidence (pure).

`CHECKS` maps a check's name to a function (params, evidence) -> (measured,
bound, passed, detail). A check that finds nothing to measure fails and says
so, rather than passing vacuously.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from emulator.durations import format_duration

from . import evidence as E
from .model import Expectation


@dataclass(frozen=True)
class Verdict:
    index: int
    check: str
    description: str
    passed: bool
    measured: Any
    bound: str
    detail: str

    def to_json(self) -> dict:
        return {"index": self.index, "check": self.check, "description": self.description,
                "passed": self.passed, "measured": self.measured, "bound": self.bound,
                "detail": self.detail}


def _range(params) -> str:
    lo, hi = params.get("min"), params.get("max")
    if lo is not None and hi is not None:
        return f"{lo}..{hi}"
    return f">= {lo}" if lo is not None else f"<= {hi}"


def _within(value, params) -> bool:
    return params.get("min", value) <= value <= params.get("max", value)


def _scope_text(scope) -> str:
    return f"{scope[1]}" if scope else "all engines"


def no_acknowledged_write_lost(x: Expectation, ev: E.Evidence):
    loss = E.losses(ev, x.scope)
    bad = loss["lost_acknowledged"] + loss["mismatched"]
    detail = (f"{loss['boots']} boot(s) of {_scope_text(x.scope)} checked against their witness: "
              f"{loss['lost_acknowledged']} acknowledged write(s) lost, {loss['mismatched']} restored "
              f"value(s) differ, {loss['lost']} unpushed write(s) lost")
    if not loss["boots"]:
        return 0, "0", False, f"no boot of {_scope_text(x.scope)} was recorded: nothing was checked"
    return bad, "0", bad == 0, detail


def writes_lost(x: Expectation, ev: E.Evidence):
    loss = E.losses(ev, x.scope)
    ok = _within(loss["lost"], x.params) and loss["lost_acknowledged"] == 0
    where = ", ".join(f"{k} {v}" for k, v in sorted(loss["by_engine"].items())) or "none"
    detail = f"lost: {where}; {loss['lost_acknowledged']} of them at or below an acknowledged push"
    return loss["lost"], _range(x.params), ok, detail


def data_at_risk(x: Expectation, ev: E.Evidence):
    windows = E.risk_windows(ev, x.scope)
    p = x.params["percentile"]
    value = E.percentile([w.seconds for w in windows], p)
    bound = f"<= {format_duration(x.params['max'])}" + (f" at p{p:g}" if p < 100 else " (worst)")
    if value is None:
        return None, bound, False, f"no write of {_scope_text(x.scope)} was recorded"
    worst = max(windows, key=lambda w: w.seconds)
    s = E.risk_summary(windows)
    detail = (f"{s['writes']} writes; p50 {s['p50_s']}s, p99 {s['p99_s']}s, worst {s['max_s']}s "
              f"({worst.engine} lsn {worst.lsn} at t={worst.written_s}s"
              f"{', never acknowledged' if worst.open else ''})")
    return value, bound, value <= x.params["max"], detail


def recovery_time(x: Expectation, ev: E.Evidence):
    found = E.recoveries(ev, x.scope)
    bound = f"<= {format_duration(x.params['max'])}"
    if not found:
        return None, bound, False, f"no kill, recycle, restart or crash of {_scope_text(x.scope)} happened"
    never = [r for r in found if r.seconds is None]
    worst = max((r.seconds for r in found if r.seconds is not None), default=None)
    each = "; ".join(f"{r.engine} {r.cause} at t={r.down_s}s: "
                     f"{'never served again' if r.seconds is None else f'{r.seconds}s'}" for r in found)
    ok = not never and worst is not None and worst <= x.params["max"]
    return worst, bound, ok, each


def count(x: Expectation, ev: E.Evidence):
    of = x.params["of"]
    if x.scope and of == "pushes":
        value = E.engine_pushes(ev, x.scope)
        source = f"acknowledged pushes of {_scope_text(x.scope)} (witness)"
    elif x.scope and of == "restores":
        value = E.losses(ev, x.scope)["restored_boots"]
        source = f"boots of {_scope_text(x.scope)} that restored"
    else:
        counts = E.function_counts(ev)
        value = counts[of]
        source = "function answers: " + ", ".join(f"{k} {v}" for k, v in counts.items() if v)
    return value, _range(x.params), _within(value, x.params), source


def no_function_5xx(x: Expectation, ev: E.Evidence):
    delta = E.request_delta(ev)
    bad = {f"{p} {s}": n for (p, s), n in delta.items() if s.isdigit() and int(s) >= 500}
    detail = ", ".join(f"{k}: {n}" for k, n in sorted(bad.items())) or "none"
    return sum(bad.values()), "0", not bad, f"5xx answers: {detail}"


def exit_code(x: Expectation, ev: E.Evidence):
    codes = E.exit_codes(ev, x.params["engine"])
    bound = f"== {x.params['code']}"
    if not codes:
        return None, bound, False, f"{x.params['engine']} never exited during the run"
    return codes[-1], bound, codes[-1] == x.params["code"], f"exit statuses in order: {codes}"


def discovery_failed_within(x: Expectation, ev: E.Evidence):
    found = E.failure_detections(ev, x.params["engine"])
    bound = f"<= {format_duration(x.params['max'])}"
    if not found:
        return None, bound, False, f"{x.params['engine']} was never killed"
    seconds = [s for _, s in found]
    if any(s is None for s in seconds):
        return None, bound, False, "discovery never marked it failed after a kill: " + str(found)
    worst = max(seconds)
    return worst, bound, worst <= x.params["max"], f"kills at t={[t for t, _ in found]}: {seconds}s"


CHECKS: dict[str, Callable] = {
    "no_acknowledged_write_lost": no_acknowledged_write_lost,
    "writes_lost": writes_lost,
    "data_at_risk": data_at_risk,
    "recovery_time": recovery_time,
    "count": count,
    "no_function_5xx": no_function_5xx,
    "exit_code": exit_code,
    "discovery_failed_within": discovery_failed_within,
}


def judge(expectation: Expectation, ev: E.Evidence) -> Verdict:
    measured, bound, passed, detail = CHECKS[expectation.check](expectation, ev)
    return Verdict(expectation.index, expectation.check, expectation.describe(), bool(passed),
                   measured, bound, detail)
