"""A scenario's `[sim.platform]`, `[[sim.spot]]`, `[sim.autoscale]` and `[sim.discovery]`, checked whole.

The scenario schema only checks that these are tables (it cannot know the
fleet or the duration while it reads them); `sim_settings(scenario)` builds
the typed settings the simulated world plays and raises SimConfigError naming
the key; `check_scenario(scenario)` is the same check for the loader, as a
SchemaError, so `wkp-emu scenario check` reports the file's line. Pure.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from emulator.scenario.schema import SchemaError

from .autoscale import AutoscalePolicy
from .platform import SimConfigError, SimPlatform, SpotPlan, _no_unknown

DISCOVERY_MODES = ("swim", "fixed")
# SWIM on virtual time costs a few events per protocol period per discovery
# node whatever the fleet does; beyond the live runner's hour the default is the
# fixed detection time (docs/sim.md, "Discovery in the simulator").
SWIM_BY_DEFAULT_UP_TO_S = 3600.0
MAX_DISCOVERY_NODES = 9


@dataclass(frozen=True)
class DiscoverySettings:
    mode: str = "swim"          # swim: the real core on virtual time; fixed: a set detection time
    nodes: int = 1              # discovery nodes (the live stack runs one)

    KEYS = ("mode", "nodes")

    @classmethod
    def from_table(cls, table: Mapping[str, Any] | None, duration_s: float,
                   where: str = "sim.discovery") -> "DiscoverySettings":
        table = table or {}
        _no_unknown(table, cls.KEYS, where)
        mode = table.get("mode", "swim" if duration_s <= SWIM_BY_DEFAULT_UP_TO_S else "fixed")
        if mode not in DISCOVERY_MODES:
            raise SimConfigError(f"{where}.mode", f"{mode!r} is not one of {', '.join(DISCOVERY_MODES)}")
        nodes = table.get("nodes", 1)
        if isinstance(nodes, bool) or not isinstance(nodes, int) or not 1 <= nodes <= MAX_DISCOVERY_NODES:
            raise SimConfigError(f"{where}.nodes", f"must be a whole number from 1 to "
                                                   f"{MAX_DISCOVERY_NODES}, got {nodes!r}")
        return cls(mode, nodes)


@dataclass(frozen=True)
class SimSettings:
    platform: SimPlatform
    spot: SpotPlan
    autoscale: tuple[AutoscalePolicy, ...]
    discovery: DiscoverySettings


def fleet_kinds(scenario) -> tuple[str, ...]:
    kinds = dict.fromkeys(scenario.config.fleet)
    kinds.update(dict.fromkeys(scenario.sim.get("fleet", {})))
    return tuple(kinds)


def sim_settings(scenario, *, start_delay_s: float = 0.0) -> SimSettings:
    """The typed platform settings of a scenario (SimConfigError names the bad key)."""
    sim = scenario.sim
    kinds = fleet_kinds(scenario)
    platform = SimPlatform.from_table(sim.get("platform"), scenario.config.platform,
                                      start_delay_s=start_delay_s)
    spot = SpotPlan.from_tables(sim.get("spot"), duration=scenario.duration_s, kinds=kinds,
                                platform=platform)
    tables = sim.get("autoscale") or []
    if isinstance(tables, Mapping):
        tables = [tables]
        where = lambda i: "sim.autoscale"  # noqa: E731
    else:
        where = lambda i: f"sim.autoscale.{i}"  # noqa: E731
    policies = tuple(AutoscalePolicy.from_table(t, where=where(i), kinds=kinds)
                     for i, t in enumerate(tables, 1))
    seen: set[str] = set()
    for i, policy in enumerate(policies, 1):
        if policy.kind in seen:
            raise SimConfigError(f"{where(i)}.kind", f"{policy.kind} is autoscaled twice")
        seen.add(policy.kind)
    for step in scenario.steps:   # two hands on one kind's count would fight
        if step.action == "scale" and step.params.get("kind") in seen:
            raise SimConfigError(f"step.{step.index}.kind", f"{step.params['kind']} is autoscaled "
                                 "([sim.autoscale]); a scale step would fight the autoscaler")
    discovery = DiscoverySettings.from_table(sim.get("discovery"), scenario.duration_s)
    return SimSettings(platform, spot, policies, discovery)


def check_scenario(scenario) -> None:
    """For the loader: the same checks, as a SchemaError naming the key (and so the line)."""
    try:
        sim_settings(scenario)
    except SimConfigError as exc:
        raise SchemaError(exc.key, str(exc).removeprefix(f"{exc.key}: ")) from None


def table_or_tables(where: str, value):
    """The schema's check of these keys: a table, or (spot, autoscale) an array of tables."""
    if isinstance(value, dict) or (isinstance(value, list) and value
                                   and all(isinstance(v, dict) for v in value)):
        return value
    raise SchemaError(where, f"must be a table ([{where}]) or an array of tables ([[{where}]])")
