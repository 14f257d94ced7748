"""Pure checks of a scenario's timeline, before anything starts.

The fleet is followed through the steps with the supervisor's own scale
policy (fleet.scale_plan), so a step that names an engine that does not exist
at that point (`kill vector-3` while vector has 2 replicas) is refused with its
step number, as are times out of order or past the duration, and expectations
that would measure nothing (a recovery time with nothing that disrupts, a kind
that never runs, a discovery check with discovery disabled).
"""
from __future__ import annotations

from emulator.durations import format_duration
from emulator.supervisor.fleet import Slot, initial_slots, scale_plan

from .model import Scenario, Step
from .schema import SchemaError

DISRUPTIONS = ("kill", "recycle", "restart")


def planned_times(steps) -> list[float]:
    """The earliest time each step can start (`at`, or the previous time plus `after`)."""
    out, t = [], 0.0
    for step in steps:
        t = step.at_s if step.at_s is not None else t + (step.after_s or 0.0)
        out.append(t)
    return out


def check_timeline(scenario: Scenario) -> None:
    slots = set(initial_slots(scenario.config))
    ever = set(slots)
    t = 0.0
    for step in scenario.steps:
        where = f"step.{step.index}"
        t = _time(step, t, scenario.duration_s, where)
        _needs_discovery(scenario, step, where)
        slots = _apply(step, slots, where)
        ever |= slots
    for expectation in scenario.expectations:
        _expectation_measures(scenario, expectation, ever)


def _time(step: Step, t: float, duration: float, where: str) -> float:
    if step.at_s is not None:
        if step.at_s < t:
            raise SchemaError(f"{where}.at", f"at = {format_duration(step.at_s)} is before the previous "
                              f"step's time ({format_duration(t)}); steps run in file order")
        t = step.at_s
    else:
        t += step.after_s or 0.0
    if t > duration:
        raise SchemaError(f"{where}.at" if step.at_s is not None else where, f"starts at {format_duration(t)}, after the scenario's duration "
                          f"({format_duration(duration)})")
    return t


def _needs_discovery(scenario: Scenario, step: Step, where: str) -> None:
    p = step.params
    fault = p.get("fault", {})
    uses = (step.action == "wait" and p["until"].startswith("member_")) or (
        fault.get("target") == "discovery" or "discovery_partitioned" in fault)
    if uses and not scenario.config.discovery:
        raise SchemaError(where, "uses discovery, which this scenario disables ([discovery] enabled = false)")


def _names(slots) -> str:
    return ", ".join(s.name for s in sorted(slots)) or "none"


def _apply(step: Step, slots: set[Slot], where: str) -> set[Slot]:
    p = step.params
    if step.action == "scale":
        start, stop = scale_plan(slots, p["kind"], p["replicas"])
        return (slots - set(stop)) | set(start)
    engine = p.get("engine") or p.get("fault", {}).get("engine")
    if engine:
        slot = Slot.parse(engine)
        if slot not in slots:
            of_kind = {s for s in slots if s.kind == slot.kind}
            raise SchemaError(f"{where}.engine", f"{engine} does not exist at this step: "
                              f"{slot.kind} has {len(of_kind)} replica(s) then ({_names(of_kind)})")
    if "kind" in p and step.action in ("recycle", "write_burst"):
        if not any(s.kind == p["kind"] for s in slots):
            raise SchemaError(f"{where}.kind", f"no {p['kind']} engine runs at this step")
    return slots


def _in_scope(expectation, slot: Slot) -> bool:
    scope = expectation.scope
    if scope is None:
        return True
    key, value = scope
    return slot.name == value if key == "engine" else slot.kind == value


def _expectation_measures(scenario: Scenario, expectation, ever: set[Slot]) -> None:
    where = f"expect.{expectation.index}"
    scope = expectation.scope
    if scope and not any(_in_scope(expectation, s) for s in ever):
        raise SchemaError(f"{where}.{scope[0]}", f"{scope[1]} never runs in this scenario, so there is "
                          "nothing to measure")
    check = expectation.check
    if check in ("recovery_time", "discovery_failed_within"):
        wanted = ("kill",) if check == "discovery_failed_within" else DISRUPTIONS
        spot = check == "recovery_time" and scenario.sim.get("spot")  # reclaims disrupt too (sim)
        if not spot and not any(s.action in wanted and _disrupts(s, expectation) for s in scenario.steps):
            verbs = "kill" if len(wanted) == 1 else "kill, recycle or restart"
            raise SchemaError(where, f"{check}: no {verbs} step touches "
                              f"{scope[1] if scope else 'any engine'}, so there is nothing to measure")
    if check == "discovery_failed_within" and not scenario.config.discovery:
        raise SchemaError(where, "discovery_failed_within needs discovery, which this scenario disables")


def _disrupts(step: Step, expectation) -> bool:
    scope = expectation.scope
    if scope is None:
        return True
    p = step.params
    if "engine" in p:
        return _in_scope(expectation, Slot.parse(p["engine"]))
    return scope[0] == "kind" and p.get("kind") == scope[1] or (
        scope[0] == "engine" and Slot.parse(scope[1]).kind == p.get("kind"))
