"""What each step action and each expectation accepts: tables, not nested ifs.

Each parameter has a checker: a pure function (key, value) -> normalized value
that raises SchemaError naming the key. `ACTIONS` and `CHECKS` map a name to
its parameters and the rule that ties them together (exactly one of engine or
kind, and so on). Fault steps are checked by the same parsers the control API
uses, so a file never accepts a fault the stack would refuse.
"""
from __future__ import annotations

import datetime
import re
from dataclasses import dataclass, field
from typing import Any, Callable

from emulator.durations import parse_duration
from emulator.protocol.names import ENGINE_KINDS


class SchemaError(ValueError):
    def __init__(self, key: str, message: str):
        super().__init__(message)
        self.key = key


ENGINE_NAME = re.compile(r"^([a-z]+)-([1-9][0-9]*)$")


def engine(key, value) -> str:
    match = ENGINE_NAME.match(value) if isinstance(value, str) else None
    if not match or match.group(1) not in ENGINE_KINDS:
        raise SchemaError(key, f"must be an engine name like vector-1 (kinds: {', '.join(ENGINE_KINDS)}), "
                          f"got {value!r}")
    return value


def kind(key, value) -> str:
    if value not in ENGINE_KINDS:
        raise SchemaError(key, f"must be an engine kind ({', '.join(ENGINE_KINDS)}), got {value!r}")
    return value


def whole(lo: int, hi: int) -> Callable:
    def check(key, value) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            raise SchemaError(key, f"must be a whole number from {lo} to {hi}, got {value!r}")
        return value
    return check


def number(lo: float, hi: float) -> Callable:
    def check(key, value) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not lo <= value <= hi:
            raise SchemaError(key, f"must be a number from {lo:g} to {hi:g}, got {value!r}")
        return float(value)
    return check


def boolean(key, value) -> bool:
    if not isinstance(value, bool):
        raise SchemaError(key, f"must be true or false, got {value!r}")
    return value


def duration(key, value) -> float:
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise SchemaError(key, str(exc)) from None


def choice(*options: str) -> Callable:
    def check(key, value) -> str:
        if value not in options:
            raise SchemaError(key, f"must be one of {', '.join(options)}, got {value!r}")
        return value
    return check


def anything(key, value):
    return value


@dataclass(frozen=True)
class Shape:
    params: dict[str, Callable]
    required: tuple[str, ...] = ()
    one_of: tuple[str, ...] = ()        # exactly one of these must be given
    at_most_one_of: tuple[str, ...] = ()
    defaults: dict[str, Any] = field(default_factory=dict)
    summary: str = ""


WAIT_CONDITIONS = ("engine_running", "engine_restored", "member_failed", "member_alive",
                   "durable", "cursor_reached")
FAULT_KEYS = ("target", "kind", "status", "rate", "count", "paths", "retry_after", "ms", "jitter_ms",
              "bytes", "engine", "clock_skew_s", "discovery_partitioned", "loss", "partitions",
              "isolate")

ACTIONS: dict[str, Shape] = {
    "scale": Shape({"kind": kind, "replicas": whole(0, 256)}, required=("kind", "replicas"),
                   summary="bring a kind to N replicas (0 = scale to zero)"),
    "recycle": Shape({"engine": engine, "kind": kind, "rolling": boolean}, one_of=("engine", "kind"),
                     summary="SIGTERM, final flush, a new pod (a whole kind; rolling: one at a time)"),
    "kill": Shape({"engine": engine}, required=("engine",),
                  summary="SIGKILL without warning (a spot interruption, an OOM kill)"),
    "restart": Shape({"engine": engine}, required=("engine",),
                     summary="stop and start the engine on the same volume"),
    "fault": Shape({k: anything for k in FAULT_KEYS}, required=("target",),
                   summary="inject a fault (every fault of `wkp-emu fault set`)"),
    "clear_faults": Shape({}, summary="clear every fault"),
    "reset": Shape({}, summary="empty the store"),
    "write_burst": Shape({"engine": engine, "kind": kind, "writes": whole(1, 100000),
                          "value_bytes": whole(1, 16 * 1024 * 1024)},
                         required=("writes",), one_of=("engine", "kind"),
                         summary="write N records at once through the engines' data API"),
    "wait": Shape({"until": choice(*WAIT_CONDITIONS), "engine": engine, "kind": kind,
                   "durable_lsn": whole(0, 10**12), "timeout": duration},
                  required=("until",), at_most_one_of=("engine", "kind"), defaults={"timeout": 60.0},
                  summary="wait until a condition holds (bounded by timeout)"),
}

COUNTS = ("pushes", "push_attempts", "restores", "restores_empty", "status_401", "status_409",
          "status_413", "status_429", "status_5xx", "dropped")
SCOPED_COUNTS = ("pushes", "restores")    # also countable per engine or kind (witness evidence)

CHECKS: dict[str, Shape] = {
    "no_acknowledged_write_lost": Shape({"engine": engine, "kind": kind}, at_most_one_of=("engine", "kind"),
                                        summary="no write lost at or below an acknowledged push, "
                                        "no restored value differs from what was written"),
    "writes_lost": Shape({"engine": engine, "kind": kind, "min": whole(0, 10**9), "max": whole(0, 10**9)},
                         at_most_one_of=("engine", "kind"),
                         summary="writes lost (only ever after the last acknowledged push) in a range"),
    "data_at_risk": Shape({"engine": engine, "kind": kind, "max": duration, "percentile": number(1, 100)},
                          required=("max",), at_most_one_of=("engine", "kind"), defaults={"percentile": 100.0},
                          summary="time from a write to the push that made it durable, at a percentile"),
    "recovery_time": Shape({"engine": engine, "kind": kind, "max": duration}, required=("max",),
                           at_most_one_of=("engine", "kind"),
                           summary="from a kill, recycle, restart or crash to serving again"),
    "count": Shape({"of": choice(*COUNTS), "engine": engine, "kind": kind, "min": whole(0, 10**9),
                    "max": whole(0, 10**9)}, required=("of",), at_most_one_of=("engine", "kind"),
                   summary="a count of function answers (or, scoped, of an engine's pushes/restores)"),
    "no_function_5xx": Shape({}, summary="the function answered no 5xx"),
    "exit_code": Shape({"engine": engine, "code": whole(0, 255)}, required=("engine", "code"),
                       summary="the exit status of the engine's last pod that exited"),
    "discovery_failed_within": Shape({"engine": engine, "max": duration}, required=("engine", "max"),
                                     summary="discovery marks a killed engine failed within a bound"),
}


def validate(shape: Shape, where: str, table: dict) -> dict:
    """The table's parameters checked and normalized; SchemaError names `where.key`."""
    out = dict(shape.defaults)
    for key, value in table.items():
        if key not in shape.params:
            known = ", ".join(shape.params) or "none"
            raise SchemaError(f"{where}.{key}", f"unknown key (this one takes: {known})")
        out[key] = shape.params[key](f"{where}.{key}", value)
    for key in shape.required:
        if key not in table:
            raise SchemaError(where, f"needs `{key}`")
    given = [k for k in shape.one_of if k in table]
    if shape.one_of and len(given) != 1:
        raise SchemaError(where, f"needs exactly one of {' or '.join(shape.one_of)}")
    if len([k for k in shape.at_most_one_of if k in table]) > 1:
        raise SchemaError(where, f"takes at most one of {' or '.join(shape.at_most_one_of)}")
    return out


# ---- sim-only sections ([sim] and its tables; docs/sim.md "Sim-only sections") ----------
# The live runner refuses a file with any of them; `scenario check` and `--sim` accept them.
# A table here is validated with its Shape; a section not listed is refused as unknown,
# so a file never carries settings nothing reads. Owners of other sim modules add theirs.

def fleet_table(key, value) -> dict:
    if not isinstance(value, dict):
        raise SchemaError(key, "must be a table of kind = replicas")
    return {k: whole(0, 100_000)(f"{key}.{kind(f'{key}.{k}', k)}", v) for k, v in value.items()}


def _sim_table(where: str, value):
    if not isinstance(value, dict):
        raise SchemaError(where, f"must be a table ([{where}])")
    return value


def _sim_tables(where: str, value, *, one_allowed: bool = False):
    if one_allowed and isinstance(value, dict):
        return value
    if not isinstance(value, list) or not value or not all(isinstance(t, dict) for t in value):
        raise SchemaError(where, f"must be written as [[{where}]] tables"
                          + (f" (or one [{where}] table)" if one_allowed else ""))
    return value


# The clock the engines' schedules read at time zero: a Unix time or a TOML datetime with its
# offset. A wall-clock instant, not a phase: a cron schedule aligns to the clock (days and
# weekdays included), and a live run's evidence starts at its wall-clock time zero.
LATEST_CLOCK = 253402300799.0  # 9999-12-31T23:59:59Z, the last instant TOML can write


def clock_instant(key, value) -> float:
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            raise SchemaError(key, f"a datetime needs its UTC offset (write {value.isoformat()}Z for UTC)")
        return value.timestamp()
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= LATEST_CLOCK:
        shown = value.isoformat() if isinstance(value, (datetime.date, datetime.time)) else repr(value)
        raise SchemaError(key, "must be a Unix time in seconds (0 to 253402300799) or a datetime with "
                          f"its offset (2026-11-30T14:03:21Z), got {shown}")
    return float(value)


SIM_KEYS: dict[str, Callable] = {
    "fleet": fleet_table,
    "clock_at_zero": clock_instant,
    "witness": choice("auto", "writes", "batches"),
    "witnessed": whole(1, 10**6),
    "sample_interval": duration,
    # The platform's tables need the fleet and the duration to be checked: here only their
    # shape; sim.platform_settings checks them whole (the loader calls it) and names the key.
    "platform": _sim_table,
    "discovery": _sim_table,
    "spot": _sim_tables,
    "autoscale": lambda where, value: _sim_tables(where, value, one_allowed=True),
}

SIM_TABLES: dict[str, Shape] = {
    "network": Shape({"latency_ms": number(0, 60_000), "jitter_ms": number(0, 60_000),
                      "bandwidth_mbps": number(0.001, 1e6), "loss": number(0, 1)},
                     summary="latency, bandwidth per link and loss between engines and the function"),
}
# [sim] tables written as [[sim.NAME]] arrays (each entry checked with the Shape)
SIM_ARRAYS: dict[str, Shape] = {}

# The longest timeline the simulator runs (a year: months are the point of it).
MAX_SIM_DURATION_S = 366 * 86400.0


def validate_sim(table) -> dict:
    """[sim] checked and normalized; SchemaError names `sim.key`."""
    if not isinstance(table, dict):
        raise SchemaError("sim", "must be a table ([sim])")
    out: dict = {}
    for key, value in table.items():
        where = f"sim.{key}"
        if key in SIM_KEYS:
            out[key] = SIM_KEYS[key](where, value)
        elif key in SIM_TABLES:
            if not isinstance(value, dict):
                raise SchemaError(where, f"must be a table ([sim.{key}])")
            out[key] = validate(SIM_TABLES[key], where, value)
        elif key in SIM_ARRAYS:
            if not isinstance(value, list) or not all(isinstance(t, dict) for t in value):
                raise SchemaError(where, f"must be written as [[sim.{key}]] tables")
            out[key] = [validate(SIM_ARRAYS[key], f"{where}.{i}", t) for i, t in enumerate(value, 1)]
        else:
            known = ", ".join(sorted({*SIM_KEYS, *SIM_TABLES, *SIM_ARRAYS}))
            raise SchemaError(where, f"unknown key; [sim] has {known}")
    return out
