"""Judging one chaos schedule on its evidence (pure): verdicts, lost writes by rule, findings.

The scenario's own expectations (no_acknowledged_write_lost; writes_lost
max 0 when nothing was killed) are judged by emulator.scenario.expectations.
On top of them, every boot that lost writes is explained by how the slot's
previous pod ended, from the control API's events:

    sigkill         killed (a kill step), or SIGKILLed by the platform after
                    its stop grace: the declared rule, writes after the last
                    acknowledged push may be lost
    unflushed_stop  SIGTERM, and the final flush ran out (exit 3) while a
                    fault refused every push of that engine (an outage, a
                    store outage, an error fault at a high rate, its clock
                    skewed): nothing could have been pushed; the ledger names
                    the lsns
    other           anything else (a clean exit, a crash): a finding

A new pod that refuses to serve because its restore failed (exit 4) while a
fault failed every restore is the declared behaviour (better no engine than an
empty one), counted, not a finding; the tail's recycle then boots it. Writes
lost at or below an acknowledged push, restored values that differ, failed
steps, any other crash or failed boot, and engines not running once the
schedule ends are findings, but a kill the control API refuses because the
engine is not running (its new pod refused to serve during an outage) is not:
there was nothing to kill.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from emulator.scenario import evidence as E
from emulator.scenario.expectations import Verdict, judge
from emulator.scenario.model import Scenario

SIGKILL_CODES = (-9, 137)
UNFLUSHED_EXIT = 3      # engines_fake: SIGTERM flush incomplete
RESTORE_FAILED_EXIT = 4  # engines_fake: the boot's restore failed; it refuses to serve
BLOCKING_RATE = 0.6     # an error fault at this rate or more refuses (nearly) every push


@dataclass
class Outcome:
    seed: int
    verdicts: list[Verdict] = field(default_factory=list)
    findings: list[str] = field(default_factory=list)
    lost: dict[str, int] = field(default_factory=lambda: {"sigkill": 0, "unflushed_stop": 0, "other": 0})
    restores: int = 0
    boots: int = 0
    refused_boots: int = 0      # boots that refused to serve (exit 4) while restores failed by fault
    kills_without_target: int = 0  # kill steps refused by the API: the engine was not running


def blocks_pushes(spec: dict, engine: str) -> bool:
    """Does this fault refuse (nearly) every push `engine` makes while it is set?"""
    target, kind = spec.get("target"), spec.get("kind")
    if target == "store" and kind == "outage":
        return True
    if target == "engine":
        return spec.get("engine") == engine and "clock_skew_s" in spec
    if target != "function" or "count" in spec:
        return False
    if kind == "outage":
        return True
    if kind == "error" and "/persist" in spec.get("paths", ["/persist"]):
        return spec.get("rate", 1.0) >= BLOCKING_RATE
    return False


def blocks_restores(spec: dict, engine: str) -> bool:
    """Does this fault fail (nearly) every restore `engine` asks for while it is set?"""
    if spec.get("target") == "function" and spec.get("kind") == "error" and "count" not in spec:
        return "/restore" in spec.get("paths", ["/restore"]) and spec.get("rate", 1.0) >= BLOCKING_RATE
    return blocks_pushes(spec, engine)


def fault_spans(scenario: Scenario, ev: E.Evidence) -> list[tuple[float, float, dict]]:
    """[(set at, cleared at, spec)] in wall-clock seconds, from the steps as executed."""
    spans, open_ = [], []
    by_index = {s.index: s for s in scenario.steps}
    for record in sorted(ev.steps, key=lambda r: r.started_s):
        step, at = by_index.get(record.index), ev.start + record.started_s
        if step is None:
            continue
        if step.action == "fault" and record.ok:
            open_.append((at, step.params["fault"]))
        elif step.action == "clear_faults":
            spans += [(t, at, spec) for t, spec in open_]
            open_ = []
    return spans + [(t, float("inf"), spec) for t, spec in open_]


def _previous_end(ev: E.Evidence, engine: str, before: float) -> tuple[dict | None, dict | None]:
    """The last exit of a pod of the slot that served, before `before`, and the
    stopping event that began it. Pods that failed before they were ready
    (engine.failed) are skipped: they never served, so they neither acknowledged
    nor lost a write; the loss a later boot reports is the last serving pod's."""
    events = sorted((e for e in ev.events if e["subject"] == engine and e["at"] <= before),
                    key=lambda e: (e["at"], e.get("seq", 0)))
    down = next((e for e in reversed(events) if e["kind"] in E.DOWN_EVENTS
                 and e["kind"] != "engine.failed"), None)
    if down is None:
        return None, None
    stopping = next((e for e in reversed(events) if e["kind"] == "engine.stopping"
                     and e["at"] <= down["at"]), None)
    return down, stopping


def loss_rule(scenario: Scenario, ev: E.Evidence, report: dict) -> tuple[str, str]:
    """(rule, why) for a boot that lost writes."""
    engine = report["engine"]
    down, stopping = _previous_end(ev, engine, report.get("at", ev.end))
    if down is None:
        return "other", "no earlier exit of the slot is on record"
    code = (down.get("data") or {}).get("exit_code")
    if down["kind"] == "engine.killed" or (down["kind"] == "engine.stopped" and code in SIGKILL_CODES):
        return "sigkill", f"{down['kind']} exit {code}"
    if down["kind"] == "engine.stopped" and code == UNFLUSHED_EXIT:
        began = stopping["at"] if stopping else down["at"]
        blocking = [spec for t0, t1, spec in fault_spans(scenario, ev)
                    if t0 <= down["at"] and t1 >= began and blocks_pushes(spec, engine)]
        if blocking:
            return "unflushed_stop", f"exit 3 while {blocking[0]} was set"
        return "other", "exit 3 (final flush incomplete) although no fault refused its pushes"
    return "other", f"{down['kind']} exit {code}"


def assess(scenario: Scenario, ev: E.Evidence, fleet_after: list[dict]) -> Outcome:
    out = Outcome(scenario.seed)
    out.verdicts = [judge(x, ev) for x in scenario.expectations]
    out.findings += [f"expectation {v.description}: measured {v.measured}, wanted {v.bound} ({v.detail})"
                     for v in out.verdicts if not v.passed]
    for r in ev.steps:
        if r.ok:
            continue
        if r.action == "kill" and "is not running" in r.error:
            out.kills_without_target += 1  # a spot interruption of a task that is not running: nothing to kill
            continue
        out.findings.append(f"step {r.index} ({r.description}) failed: {r.error}")
    spans = fault_spans(scenario, ev)
    for e in ev.events:
        if e["kind"] in ("engine.crashed", "engine.failed") and e["at"] >= ev.start:
            data = e.get("data") or {}
            if e["kind"] == "engine.failed" and data.get("exit_code") == RESTORE_FAILED_EXIT and any(
                    t0 <= e["at"] <= t1 and blocks_restores(spec, e["subject"]) for t0, t1, spec in spans):
                out.refused_boots += 1  # it refused to serve rather than boot without its data
                continue
            out.findings.append(f"{e['subject']} {e['kind'].split('.')[1]} (exit {data.get('exit_code')}): "
                                f"{str(data.get('message', ''))[-300:]}")
    out.findings += [f"{e['name']} is {e['state']} after the schedule" for e in fleet_after
                     if e.get("state") != "running"]
    for report in E.boots(ev):
        out.boots += 1
        out.restores += report.get("boot") == "restored"
        if not report.get("lost_count"):
            continue
        rule, why = loss_rule(scenario, ev, report)
        out.lost[rule] += report["lost_count"]
        if rule == "other":
            out.findings.append(f"{report['engine']} lost {report['lost_count']} write(s) at its boot "
                                f"(lsn {report['lost'][0]['lsn']}..; last acknowledged push "
                                f"{report.get('last_acknowledged_lsn')}): {why}")
    return out


def witnessed_writes(witness: dict[str, tuple[dict, ...]], since: float) -> int:
    """Client writes the engines acknowledged since `since` and still on their witnesses."""
    return sum(1 for entries in witness.values() for e in entries if "w" in e and e.get("at", 0) >= since)
