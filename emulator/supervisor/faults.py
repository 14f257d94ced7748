"""Fault requests (from the control API, a scenario or the simulator), routed to where
each is applied.

    {"target": "function", "kind": "error", "status": 503, ...}   -> the function's fault table
    {"target": "store", "kind": "outage" | "latency", ...}         -> the same table, store faults
    {"target": "engine", "engine": "vector-1", "clock_skew_s": 400} -> that engine's clock
    {"target": "discovery", ...}                                   -> the discovery node's faults
"""
from __future__ import annotations

from emulator.function.faults import Fault, FaultSpecError

TARGETS = ("function", "store", "engine", "discovery")


def function_fault(spec: dict) -> Fault:
    """The function-table Fault for a `function` or `store` target spec."""
    spec = dict(spec)
    target = spec.pop("target")
    if target == "store":
        kind = spec.get("kind")
        if kind not in ("outage", "latency"):
            raise FaultSpecError("store faults are kind outage or latency")
        spec["kind"] = f"store_{kind}"
    elif spec.get("kind", "").startswith("store_"):
        raise FaultSpecError("use target store for store faults")
    return Fault.from_json(spec)


def parse_target(spec) -> str:
    if not isinstance(spec, dict):
        raise FaultSpecError("a fault is a JSON object")
    target = spec.get("target")
    if target not in TARGETS:
        raise FaultSpecError(f"target {target!r} is not one of {', '.join(TARGETS)}")
    return target
