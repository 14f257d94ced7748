"""Scenario files: TOML in, a Scenario out, or ScenarioError naming the key and the line.

Everything is checked before anything starts: unknown tables and keys, wrong
types, each step's action and each expectation's check (schema.py), faults by
the control API's own parsers, the fleet tables by wkp-emu.toml's loader, and
then the timeline as a whole (timeline.py: steps naming engines that do not
exist at that point, times out of order or past the duration, expectations
that measure nothing).
"""
from __future__ import annotations

import copy
import tomllib
from pathlib import Path
from types import MappingProxyType

from emulator.durations import parse_duration
from emulator.supervisor.config import ConfigFileError, _build, line_near

from . import schema
from .model import Expectation, Scenario, Step

# Tables a scenario shares with wkp-emu.toml, and the keys the runner owns.
EMULATOR_TABLES = {"fleet", "platform", "defaults", "workload", "function", "discovery"}
RUNNER_KEYS = {"function": {"port", "fault_seed"}, "discovery": {"udp_port", "api_port"}}
SCENARIO_KEYS = {"name", "description", "seed", "duration"}
# The live runner's bound; longer runs are for the simulator.
MAX_LIVE_DURATION_S = 3600.0
SIM_TABLE = "sim"  # sim-only settings (schema.validate_sim); the live runner refuses a file with them


class ScenarioError(ValueError):
    def __init__(self, source: str, line: int | None, key: str, message: str):
        where = f"{source}, line {line}" if line else source
        super().__init__(f"{where}: {key}: {message}" if key else f"{where}: {message}")
        self.source, self.line, self.key = source, line, key


def array_line(text: str, table: str, index: int, key: str | None = None) -> int | None:
    """The line of `key` in the index-th (1-based) `[[table]]`, else of that header."""
    header, seen = None, 0
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if line.startswith("["):
            if header is not None:
                break
            if line.replace(" ", "") == f"[[{table}]]":
                seen += 1
                if seen == index:
                    header = number
            continue
        if header is not None and key and line.split("=", 1)[0].strip().strip('"') == key:
            return number
    return header


def _line(text: str, key: str) -> int | None:
    parts = key.split(".")
    if parts[0] in ("step", "expect") and len(parts) > 1 and parts[1].isdigit():
        return array_line(text, parts[0], int(parts[1]), parts[2] if len(parts) > 2 else None)
    if parts[0] == "sim" and len(parts) > 2 and parts[2].isdigit():  # [[sim.spot]], [[sim.autoscale]]
        return array_line(text, ".".join(parts[:2]), int(parts[2]), parts[3] if len(parts) > 3 else None)
    return line_near(text, key)


def load_scenario(path) -> Scenario:
    p = Path(path)
    try:
        text = p.read_text()
    except OSError as exc:
        raise ScenarioError(str(p), None, "", f"cannot read: {exc.strerror}") from None
    return parse_scenario(text, str(p))


def parse_scenario(text: str, source: str = "scenario.toml") -> Scenario:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:  # its message carries line and column
        raise ScenarioError(source, None, "", f"not valid TOML: {exc}") from None
    try:
        return _build_scenario(data, source, text)
    except schema.SchemaError as exc:
        raise ScenarioError(source, _line(text, exc.key), exc.key, str(exc)) from None
    except ConfigFileError as exc:
        message = str(exc).split(": ", 2)[-1]
        raise ScenarioError(source, _line(text, exc.key), exc.key, message) from None


def _build_scenario(data: dict, source: str, text: str = "") -> Scenario:
    for table in data:
        if table in ("emulator", "store"):
            raise schema.SchemaError(table, "is set by the scenario runner (state dir, ports, store); "
                                     "remove it from the scenario")
        if table not in EMULATOR_TABLES | {"scenario", "step", "expect", SIM_TABLE}:
            known = ", ".join(sorted(EMULATOR_TABLES | {"scenario", "step", "expect", SIM_TABLE}))
            raise schema.SchemaError(table, f"unknown table; a scenario has {known}")
    head = _head(data.get("scenario"))
    tables = _emulator_tables(data, head["seed"])
    config = _build(copy.deepcopy(tables))
    steps = tuple(_step(i, t) for i, t in enumerate(_array(data, "step"), 1))
    expectations = tuple(_expectation(i, t) for i, t in enumerate(_array(data, "expect"), 1))
    sim = schema.validate_sim(data[SIM_TABLE]) if SIM_TABLE in data else {}
    if sim.get("fleet"):
        config = _with_sim_fleet(config, sim["fleet"])
    sim_only = []
    if head["duration"] > MAX_LIVE_DURATION_S:
        sim_only.append(("scenario.duration", f"a {data['scenario']['duration']!r} timeline is longer "
                         "than the live runner's 1h"))
    if SIM_TABLE in data:
        sim_only.append((SIM_TABLE, "[sim] settings are for the simulator"))
    scenario = Scenario(head["name"], head["description"], head["seed"], head["duration"], config,
                        steps, expectations, source, MappingProxyType(tables), MappingProxyType(sim),
                        tuple((_line(text, key), key, why) for key, why in sim_only))
    from .timeline import check_timeline
    check_timeline(scenario)
    from sim.platform_settings import check_scenario  # [sim.platform], [[sim.spot]], [sim.autoscale]
    check_scenario(scenario)
    return scenario


def _with_sim_fleet(config, replicas: dict):
    """[sim.fleet] sets replicas per kind beyond what a laptop runs; env stays [fleet.KIND]'s."""
    from dataclasses import replace

    from emulator.supervisor.config import KindConfig
    fleet = dict(config.fleet)
    for kind, n in replicas.items():
        base = fleet.get(kind)
        fleet[kind] = KindConfig(n, base.env if base is not None else MappingProxyType({}))
    return replace(config, fleet=MappingProxyType(fleet))


def _head(table) -> dict:
    if not isinstance(table, dict):
        raise schema.SchemaError("scenario", "a scenario needs a [scenario] table with name, "
                                 "description and duration")
    for key in table:
        if key not in SCENARIO_KEYS:
            raise schema.SchemaError(f"scenario.{key}", f"unknown key; [scenario] has {', '.join(sorted(SCENARIO_KEYS))}")
    for key in ("name", "description"):
        if not isinstance(table.get(key), str) or not table[key].strip():
            raise schema.SchemaError(f"scenario.{key}" if key in table else "scenario",
                                     f"needs a non-empty string `{key}`")
    if "duration" not in table:
        raise schema.SchemaError("scenario", "needs `duration` (how long the scenario runs, e.g. \"60s\")")
    seconds = schema.duration("scenario.duration", table["duration"])
    if not 0 < seconds <= schema.MAX_SIM_DURATION_S:
        raise schema.SchemaError("scenario.duration", f"must be more than 0 and at most 1h on the live "
                                 f"stack (366d simulated, with --sim), got {table['duration']!r}")
    seed = schema.whole(0, 2**63)("scenario.seed", table.get("seed", 0))
    return {"name": table["name"], "description": table["description"].strip(), "seed": seed,
            "duration": seconds}


def _emulator_tables(data: dict, seed: int) -> dict:
    """wkp-emu.toml tables of the scenario, with the seed given to workloads and faults."""
    tables = {k: copy.deepcopy(v) for k, v in data.items() if k in EMULATOR_TABLES}
    for table, owned in RUNNER_KEYS.items():
        for key in owned & set(tables.get(table, {})):
            raise schema.SchemaError(f"{table}.{key}", "is set by the scenario runner")
    tables.setdefault("function", {})["fault_seed"] = seed
    for kind, spec in tables.get("workload", {}).items():
        if isinstance(spec, dict):
            spec.setdefault("seed", seed)
    return tables


def _array(data: dict, name: str) -> list[dict]:
    value = data.get(name, [])
    if not isinstance(value, list) or not all(isinstance(t, dict) for t in value):
        raise schema.SchemaError(name, f"must be written as [[{name}]] tables")
    return value


def _step(index: int, table: dict) -> Step:
    where = f"step.{index}"
    table = dict(table)
    at, after = table.pop("at", None), table.pop("after", None)
    if at is not None and after is not None:
        raise schema.SchemaError(where, "takes `at` or `after`, not both")
    at_s = schema.duration(f"{where}.at", at) if at is not None else None
    after_s = schema.duration(f"{where}.after", after) if after is not None else None
    action = table.pop("action", None)
    if action not in schema.ACTIONS:
        raise schema.SchemaError(f"{where}.action" if action is not None else where,
                                 f"needs `action`, one of {', '.join(schema.ACTIONS)}; got {action!r}")
    params = schema.validate(schema.ACTIONS[action], where, table)
    _action_rules(where, action, params)
    return Step(index, action, MappingProxyType(params), at_s, after_s)


def _action_rules(where: str, action: str, params: dict) -> None:
    if action == "recycle" and params.get("rolling") and "kind" not in params:
        raise schema.SchemaError(f"{where}.rolling", "a rolling recycle names a kind, not an engine")
    if action == "wait":
        until = params["until"]
        if until != "durable" and "engine" not in params:
            raise schema.SchemaError(where, f"until = \"{until}\" needs `engine`")
        if (until == "cursor_reached") != ("durable_lsn" in params):
            raise schema.SchemaError(f"{where}.durable_lsn" if "durable_lsn" in params else where,
                                     "durable_lsn goes with until = \"cursor_reached\" (and only there)")
    if action == "fault":
        spec = _fault(where, dict(params))
        params.clear()
        params["fault"] = spec


def _fault(where: str, spec: dict) -> dict:
    """The fault as the control API takes it, checked by the control API's own parsers."""
    from emulator.supervisor.faults import function_fault, parse_target
    from emulator.discovery.faults import FaultPlan
    from emulator.discovery.faults import FaultSpecError as PlanError
    from emulator.function.faults import FaultSpecError
    try:
        target = parse_target(spec)
        if target in ("function", "store"):
            function_fault(spec)
        elif target == "engine":
            if "engine" not in spec:
                raise FaultSpecError("an engine fault needs `engine`")
            extra = set(spec) - {"target", "engine", "clock_skew_s", "discovery_partitioned"}
            if extra or len(set(spec) & {"clock_skew_s", "discovery_partitioned"}) != 1:
                raise FaultSpecError("an engine fault takes engine and one of clock_skew_s "
                                     "(seconds) or discovery_partitioned (true/false)")
        else:
            FaultPlan.from_json({k: v for k, v in spec.items() if k != "target"})
    except (FaultSpecError, PlanError) as exc:
        raise schema.SchemaError(where, f"fault: {exc}") from None
    return dict(spec)


def _expectation(index: int, table: dict) -> Expectation:
    where = f"expect.{index}"
    table = dict(table)
    check = table.pop("check", None)
    if check not in schema.CHECKS:
        raise schema.SchemaError(f"{where}.check" if check is not None else where,
                                 f"needs `check`, one of {', '.join(schema.CHECKS)}; got {check!r}")
    params = schema.validate(schema.CHECKS[check], where, table)
    if check in ("count", "writes_lost") and "min" not in params and "max" not in params:
        raise schema.SchemaError(where, f"{check} needs `min`, `max` or both")
    if check == "count" and ("engine" in params or "kind" in params) \
            and params["of"] not in schema.SCOPED_COUNTS:
        raise schema.SchemaError(f"{where}.of", f"only {', '.join(schema.SCOPED_COUNTS)} can be counted "
                                 "per engine or kind; other counts are the function's")
    if params.get("min", 0) > params.get("max", float("inf")):
        raise schema.SchemaError(f"{where}.min", f"min {params['min']} is above max {params['max']}")
    return Expectation(index, check, MappingProxyType(params))


def require_live(scenario: Scenario) -> None:
    """ScenarioError naming the first sim-only part of the file: the live runner cannot
    run it, and ignoring it would judge a different scenario than the one written."""
    if scenario.sim_only:
        line, key, why = scenario.sim_only[0]
        raise ScenarioError(scenario.source, line, key, f"{why}; the live stack cannot run this "
                            "scenario (run it simulated: wkp-emu scenario run FILE --sim)")


__all__ = ["ScenarioError", "load_scenario", "parse_scenario", "parse_duration", "require_live"]
