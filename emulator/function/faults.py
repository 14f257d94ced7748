"""Fault injection for the function and its store (Toxiproxy / LocalStack chaos style).

A fault is a rule; the table decides, per request, which rules fire. Pure: the
caller passes the request's path and declared size and a seeded RNG, and gets
back the actions to carry out. Kinds:

    error          answer `status` (5xx, 429 with `retry_after`, 401, ...)
    latency        sleep `ms` ± `jitter_ms` before handling
    outage         drop the connection (the client sees a network error; the
                   metrics count it under status "dropped", never as a 503)
    request_limit  413 for bodies over `bytes` (e.g. Lambda URLs' 6 MB)
    store_outage   every store call fails (the function answers 503)
    store_latency  every store call waits `ms` ± `jitter_ms`

`rate` (0..1] is the chance a matching request is hit; `count` limits how
many requests it hits before it expires; `paths` limits it to some endpoints.
"""
from __future__ import annotations

import itertools
import random
from dataclasses import asdict, dataclass, field, replace

KINDS = ("error", "latency", "outage", "request_limit", "store_outage", "store_latency")
WKP_PATHS = ("/persist", "/restore", "/health")


class FaultSpecError(ValueError):
    pass


# JSON types of the optional fields (bool is an int to Python, never here): a
# string where a number belongs must be a 400 naming the field, not a
# TypeError deep in validate().
_NUMBERS = {"status": (int,), "rate": (int, float), "count": (int, type(None)),
            "retry_after": (int, type(None)), "ms": (int,), "jitter_ms": (int,), "bytes": (int,)}


def _check_types(spec: dict) -> None:
    for name, types in _NUMBERS.items():
        value = spec.get(name)
        if name in spec and (isinstance(value, bool) or not isinstance(value, types)):
            raise FaultSpecError(f"fault field {name} must be a number, got {value!r}")
    paths = spec.get("paths", [])
    if not isinstance(paths, (list, tuple)) or not all(isinstance(p, str) for p in paths):
        raise FaultSpecError(f"fault field paths must be a list of paths, got {paths!r}")


@dataclass(frozen=True)
class Fault:
    kind: str
    status: int = 503
    rate: float = 1.0
    count: int | None = None
    paths: tuple[str, ...] = WKP_PATHS
    retry_after: int | None = None
    ms: int = 0
    jitter_ms: int = 0
    bytes: int = 0
    id: int = 0

    @classmethod
    def from_json(cls, spec: dict) -> "Fault":
        if not isinstance(spec, dict):
            raise FaultSpecError("a fault is a JSON object")
        unknown = set(spec) - {f for f in cls.__dataclass_fields__ if f != "id"}
        if unknown:
            raise FaultSpecError(f"unknown fault field(s): {', '.join(sorted(unknown))}")
        kind = spec.get("kind")
        if kind not in KINDS:
            raise FaultSpecError(f"fault kind {kind!r} is not one of {', '.join(KINDS)}")
        _check_types(spec)
        try:
            fault = cls(**{**spec, "paths": tuple(spec.get("paths", WKP_PATHS))})
        except TypeError as exc:
            raise FaultSpecError(str(exc)) from None
        fault.validate()
        return fault

    def validate(self) -> None:
        if not 0 < self.rate <= 1:
            raise FaultSpecError("rate must be in (0, 1]")
        if self.count is not None and self.count < 1:
            raise FaultSpecError("count must be at least 1")
        if self.kind == "error" and not 400 <= self.status <= 599:
            raise FaultSpecError("status must be a 4xx or 5xx code")
        if self.kind == "request_limit" and self.bytes < 1:
            raise FaultSpecError("request_limit needs bytes >= 1")
        if min(self.ms, self.jitter_ms) < 0 or self.jitter_ms > self.ms and self.kind.endswith("latency"):
            raise FaultSpecError("ms and jitter_ms must be >= 0, jitter at most ms")
        if any(p not in WKP_PATHS for p in self.paths):
            raise FaultSpecError(f"paths must be among {', '.join(WKP_PATHS)}")

    def to_json(self) -> dict:
        out = asdict(self)
        out["paths"] = list(self.paths)
        return out


@dataclass(frozen=True)
class Hit:
    """What to do to one request: wait, then fail one way or none."""
    delay_s: float = 0.0
    status: int | None = None
    headers: dict = field(default_factory=dict)
    drop: bool = False
    reason: str = ""


class FaultTable:
    def __init__(self, seed: int | None = None):
        self._faults: dict[int, Fault] = {}
        self._ids = itertools.count(1)
        self.rng = random.Random(seed)

    def add(self, fault: Fault) -> Fault:
        fault = replace(fault, id=next(self._ids))
        self._faults[fault.id] = fault
        return fault

    def remove(self, fault_id: int) -> bool:
        return self._faults.pop(fault_id, None) is not None

    def clear(self) -> int:
        n = len(self._faults)
        self._faults.clear()
        return n

    def list(self) -> list[Fault]:
        return list(self._faults.values())

    def _fires(self, fault: Fault) -> bool:
        if self.rng.random() >= fault.rate:
            return False
        if fault.count is not None:
            if fault.count <= 1:
                del self._faults[fault.id]
            else:
                self._faults[fault.id] = replace(fault, count=fault.count - 1)
        return True

    def _delay(self, fault: Fault) -> float:
        return max(0.0, fault.ms + self.rng.uniform(-fault.jitter_ms, fault.jitter_ms)) / 1000

    def on_request(self, path: str, declared_size: int | None) -> Hit:
        delay, outcome = 0.0, Hit()
        for fault in list(self._faults.values()):
            if path not in fault.paths or fault.kind.startswith("store_"):
                continue
            if fault.kind == "request_limit" and (declared_size or 0) <= fault.bytes:
                continue
            if not self._fires(fault):
                continue
            if fault.kind == "latency":
                delay += self._delay(fault)
            elif outcome.status is None and not outcome.drop:
                outcome = _failure(fault)
        return replace(outcome, delay_s=delay)

    def on_store_call(self) -> Hit:
        delay, down = 0.0, False
        for fault in list(self._faults.values()):
            if fault.kind == "store_latency" and self._fires(fault):
                delay += self._delay(fault)
            elif fault.kind == "store_outage" and self._fires(fault):
                down = True
        return Hit(delay_s=delay, drop=down, reason="store outage (injected)" if down else "")


def _failure(fault: Fault) -> Hit:
    if fault.kind == "outage":
        return Hit(drop=True, reason="outage (injected)")
    if fault.kind == "request_limit":
        return Hit(status=413, headers={"X-WeftKit-Max-Payload": str(fault.bytes)},
                   reason=f"request over the injected {fault.bytes}-byte limit")
    headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
    if fault.status == 429 and not headers:
        headers = {"Retry-After": "1"}
    return Hit(status=fault.status, headers=headers, reason=f"injected {fault.status}")
