"""wkp-emu.toml: the emulator's configuration, validated with errors naming the key.

Pure: `parse_config(text)` returns a frozen EmulatorConfig or raises
ConfigFileError whose message names the key (or, for TOML syntax errors, the
line and column tomllib reports). Every table and key is optional; an empty
file (or none at all) gives the embedded defaults: the compose example of seed
000, relational x1, vector x2, filestore x1.
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Mapping

from emulator.platforms.profiles import ENGINE_PROFILES, FUNCTION_PROFILES, engine_profile
from emulator.protocol.names import ENGINE_KINDS

from .workload_config import WorkloadError, WorkloadSpec, parse_workload

DEFAULT_FLEET = {"relational": 1, "vector": 2, "filestore": 1}
# relational runs as a single replica: it adopts its lineage if its id ever changes
DEFAULT_KIND_ENV = {"relational": {"WEFTKIT_PERSIST_TAKEOVER": "newest"}}
RECYCLE_VOLUMES = ("empty", "keep")
INSTANCE_IDS = ("stable", "new")
BACKENDS = ("process", "docker")  # where engine pods run (supervisor/backends)
# Which function up runs: the keys of function_targets.FUNCTION_TARGETS, named here rather than imported
# because the targets bring asyncio and their hosts, and pure code (the simulator's platform) reads this config.
# tests/supervisor/test_config.py checks that the two agree.
FUNCTION_TARGET_NAMES = ("aiohttp", "lambda", "gcf", "azure")
# Fast enough to watch in a demo, slow enough to stay idle: every 10 seconds.
DEFAULT_SCHEDULE = "*/10 * * * * *"


class ConfigFileError(ValueError):
    def __init__(self, key: str, message: str, source: str = "wkp-emu.toml"):
        super().__init__(f"{source}: {key}: {message}" if key else f"{source}: {message}")
        self.key = key


@dataclass(frozen=True)
class KindConfig:
    replicas: int
    env: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PlatformConfig:
    """How pods behave, as on Fargate / Cloud Run (defaults) or Kubernetes with PVCs."""
    recycle_volume: str = "empty"     # every new pod gets an empty volume ("keep": a PVC)
    instance_id: str = "stable"       # per-slot id set in the env; "new": a random id per pod
    stop_grace_s: float = 30.0        # SIGTERM, then SIGKILL after this (ECS stopTimeout)
    replace_delay_s: float = 1.0      # a crashed or killed task's replacement starts after this
    profile: str | None = None        # the engine platform profile these values came from, if any


@dataclass(frozen=True)
class EmulatorConfig:
    state_dir: str = ".wkp-emu"
    control_host: str = "127.0.0.1"
    control_port: int = 4510
    secret: str = ""                  # empty: generated once and kept in the state dir
    headless: bool | None = None      # None: decide by whether stdout is a terminal
    backend: str = "process"          # "docker": engines run as containers (docs/docker.md)
    store_endpoint: str = ""          # empty: embedded moto
    store_port: int = 0
    bucket: str = "wkp-emu"
    function_port: int = 8787
    function_target: str = "aiohttp"  # [function] target: a key of function_targets.FUNCTION_TARGETS
    max_payload: int = 100 * 1024 * 1024
    max_inflight: int = 256
    async_storage: bool = False
    # [function] profile and instances (docs/functions.md); None: the profile's, or today's function
    function_profile: str | None = None
    instances_max: int | None = None
    instance_concurrency: int | None = None
    keep_alive_s: float | None = None
    cold_start_ms: int | None = None
    function_timeout_s: float | None = None
    discovery: bool = True
    discovery_udp_port: int = 7474
    discovery_api_port: int = 7475
    gossip_interval_ms: int = 500
    suspicion_timeout_ms: int = 5000
    platform: PlatformConfig = PlatformConfig()
    defaults_env: Mapping[str, str] = field(default_factory=lambda: MappingProxyType(
        {"WEFTKIT_PERSIST_SCHEDULE": DEFAULT_SCHEDULE}))
    fault_seed: int | None = None     # seeds the function's fault decisions (scenarios)
    fleet: Mapping[str, KindConfig] = field(default_factory=lambda: MappingProxyType(
        {k: KindConfig(n, MappingProxyType(DEFAULT_KIND_ENV.get(k, {})))
         for k, n in DEFAULT_FLEET.items()}))
    workload: Mapping[str, WorkloadSpec] = field(default_factory=lambda: MappingProxyType({}))


# table -> key -> (field name, type, check)
_SCALARS: dict[str, dict[str, tuple[str, type, Any]]] = {
    "emulator": {"state_dir": ("state_dir", str, None),
                 "control_host": ("control_host", str, None),
                 "control_port": ("control_port", int, "port"),
                 "secret": ("secret", str, None),
                 "headless": ("headless", bool, None),
                 "backend": ("backend", str, BACKENDS)},
    "store": {"endpoint": ("store_endpoint", str, None), "port": ("store_port", int, "port"),
              "bucket": ("bucket", str, None)},
    "function": {"port": ("function_port", int, "port"),
                 "target": ("function_target", str, FUNCTION_TARGET_NAMES),
                 "max_payload": ("max_payload", int, "positive"),
                 "max_inflight": ("max_inflight", int, "positive"),
                 "async": ("async_storage", bool, None),
                 "fault_seed": ("fault_seed", int, None),
                 "profile": ("function_profile", str, tuple(FUNCTION_PROFILES)),
                 "instances_max": ("instances_max", int, "positive"),
                 "instance_concurrency": ("instance_concurrency", int, "positive"),
                 "keep_alive_s": ("keep_alive_s", float, "above_zero"),
                 "cold_start_ms": ("cold_start_ms", int, "non_negative"),
                 "timeout_s": ("function_timeout_s", float, "above_zero")},
    "discovery": {"enabled": ("discovery", bool, None),
                  "udp_port": ("discovery_udp_port", int, "port"),
                  "api_port": ("discovery_api_port", int, "port"),
                  "gossip_interval_ms": ("gossip_interval_ms", int, "positive"),
                  "suspicion_timeout_ms": ("suspicion_timeout_ms", int, "positive")},
}
_PLATFORM = {"recycle_volume": (str, RECYCLE_VOLUMES), "instance_id": (str, INSTANCE_IDS),
             "stop_grace_s": (float, None), "replace_delay_s": (float, None),
             "profile": (str, tuple(ENGINE_PROFILES))}


def _typed(key: str, value, kind: type, check):
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ConfigFileError(key, f"must be {kind.__name__}, got {value!r}")
    if check == "port" and not 0 <= value <= 65535:
        raise ConfigFileError(key, f"{value} is not a port (0-65535; 0 picks a free one)")
    if check == "positive" and value < 1:
        raise ConfigFileError(key, f"must be at least 1, got {value}")
    if check == "above_zero" and not 0 < value < float("inf"):
        raise ConfigFileError(key, f"must be a positive number, got {value}")
    if check == "non_negative" and value < 0:
        raise ConfigFileError(key, f"must be 0 or more, got {value}")
    if isinstance(check, tuple) and value not in check:
        raise ConfigFileError(key, f"{value!r} is not one of {', '.join(check)}")
    return value


def _env_table(key: str, table) -> dict[str, str]:
    if not isinstance(table, dict):
        raise ConfigFileError(key, "must be a table of VARIABLE = \"value\"")
    out = {}
    for name, value in table.items():
        if not name.startswith("WEFTKIT_"):
            raise ConfigFileError(f"{key}.{name}", "only WEFTKIT_* variables can be set here")
        if isinstance(value, bool):
            value = "true" if value else "false"
        if not isinstance(value, (str, int, float)):
            raise ConfigFileError(f"{key}.{name}", f"must be a string, got {value!r}")
        out[name] = str(value)
    return out


def _fleet(table) -> dict[str, KindConfig]:
    if not isinstance(table, dict):
        raise ConfigFileError("fleet", "must be a table of kinds")
    out = {}
    for kind, spec in table.items():
        key = f"fleet.{kind}"
        if kind not in ENGINE_KINDS:
            raise ConfigFileError(key, f"unknown engine kind; kinds are {', '.join(ENGINE_KINDS)}")
        if not isinstance(spec, dict):
            raise ConfigFileError(key, "must be a table with replicas = N")
        unknown = set(spec) - {"replicas", "env"}
        if unknown:
            raise ConfigFileError(f"{key}.{sorted(unknown)[0]}", "unknown key (replicas, env)")
        replicas = spec.get("replicas", 1)
        if isinstance(replicas, bool) or not isinstance(replicas, int) or replicas < 0:
            raise ConfigFileError(f"{key}.replicas", f"must be an integer >= 0, got {replicas!r}")
        out[kind] = KindConfig(replicas, MappingProxyType(_env_table(f"{key}.env", spec.get("env", {}))))
    return out


def line_of(text: str, key: str) -> int | None:
    """The line where dotted `key` is set or its table opens (tomllib keeps no positions)."""
    table = ""
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if line.startswith("["):
            table = line.strip("[] ")
            if table == key:
                return number
            continue
        name = line.split("=", 1)[0].strip().strip('"')
        if "=" in line and (f"{table}.{name}" if table else name) == key:
            return number
    return None


def line_near(text: str, key: str) -> int | None:
    """The line of `key`, else of its nearest enclosing table that is written down."""
    parts = key.split(".")
    for n in range(len(parts), 0, -1):
        line = line_of(text, ".".join(parts[:n]))
        if line:
            return line
    return None


def parse_config(text: str, source: str = "wkp-emu.toml") -> EmulatorConfig:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:  # its message carries line and column
        raise ConfigFileError("", f"not valid TOML: {exc}", source) from None
    try:
        return _build(data)
    except ConfigFileError as exc:
        line = line_near(text, exc.key)
        where = f"{source}, line {line}" if line else source
        raise ConfigFileError(exc.key, str(exc).split(": ", 2)[-1], where) from None


def _build(data: dict) -> EmulatorConfig:
    known = set(_SCALARS) | {"platform", "defaults", "fleet", "workload"}
    for table in data:
        if table not in known:
            raise ConfigFileError(table, f"unknown table; tables are {', '.join(sorted(known))}")
    values: dict[str, Any] = {}
    for table, keys in _SCALARS.items():
        section = data.get(table, {})
        if not isinstance(section, dict):
            raise ConfigFileError(table, "must be a table")
        for key, value in section.items():
            if key not in keys:
                raise ConfigFileError(f"{table}.{key}", f"unknown key; {table} has {', '.join(keys)}")
            name, kind, check = keys[key]
            values[name] = _typed(f"{table}.{key}", value, kind, check)
    platform = {}
    for key, value in data.get("platform", {}).items():
        if key not in _PLATFORM:
            raise ConfigFileError(f"platform.{key}", f"unknown key; platform has {', '.join(_PLATFORM)}")
        kind, allowed = _PLATFORM[key]
        platform[key] = _typed(f"platform.{key}", value, kind, allowed)
    if platform.get("stop_grace_s", 1) <= 0:
        raise ConfigFileError("platform.stop_grace_s", "must be positive")
    if not 0 <= platform.get("replace_delay_s", 1) <= 3600:
        raise ConfigFileError("platform.replace_delay_s", "must be from 0 to 3600 seconds")
    defaults = data.get("defaults", {})
    unknown = set(defaults) - {"env"}
    if unknown:
        raise ConfigFileError(f"defaults.{sorted(unknown)[0]}", "unknown key (env)")
    env = _env_table("defaults.env", defaults["env"]) if "env" in defaults else {
        "WEFTKIT_PERSIST_SCHEDULE": DEFAULT_SCHEDULE}
    fleet = _fleet(data["fleet"]) if "fleet" in data else None
    cfg = EmulatorConfig(**values, platform=PlatformConfig(**platform_from_profile(platform)),
                         defaults_env=MappingProxyType(env))
    if fleet is not None:
        object.__setattr__(cfg, "fleet", MappingProxyType(fleet))
    if "workload" in data:
        workload = _workloads(data["workload"])
        object.__setattr__(cfg, "workload", MappingProxyType(workload))
        object.__setattr__(cfg, "fleet", MappingProxyType(with_workload(cfg.fleet, workload)))
    return cfg


def platform_from_profile(explicit: dict) -> dict:
    """[platform] keys with an engine platform profile's values under them: what the file
    sets explicitly wins. The profile's start delay is how long a replacement takes."""
    name = explicit.get("profile")
    if name is None:
        return explicit
    p = engine_profile(name)
    base = {"recycle_volume": "empty" if p.volume == "ephemeral" else "keep",
            "instance_id": p.instance_id, "stop_grace_s": p.stop_grace_s,
            "replace_delay_s": p.start_delay.median_s}
    return {**base, **explicit}


def with_profiles(config: EmulatorConfig, names) -> EmulatorConfig:
    """`wkp-emu up --profile NAME ...`: a function profile sets [function] profile; an engine
    platform profile replaces [platform] with its values. Unknown names raise ConfigFileError."""
    import dataclasses
    for name in names or ():
        if name in FUNCTION_PROFILES:
            config = dataclasses.replace(config, function_profile=name)
        elif name in ENGINE_PROFILES:
            config = dataclasses.replace(config, platform=PlatformConfig(**platform_from_profile({"profile": name})))
        else:
            raise ConfigFileError("", f"--profile {name}: unknown; function profiles are "
                                      f"{', '.join(FUNCTION_PROFILES)}; platform profiles are "
                                      f"{', '.join(ENGINE_PROFILES)}", "wkp-emu up")
    return config


def function_settings(config: EmulatorConfig):
    """(Limits, InstanceSettings, PlatformLimits) of the function this configuration runs."""
    from emulator.function.config import apply_profile
    from emulator.protocol.function_rules import Limits
    return apply_profile(config.function_profile,
                         limits=Limits(max_payload=config.max_payload, max_inflight=config.max_inflight),
                         instances={"instances_max": config.instances_max,
                                    "instance_concurrency": config.instance_concurrency,
                                    "keep_alive_s": config.keep_alive_s, "cold_start_ms": config.cold_start_ms},
                         timeout_s=config.function_timeout_s)


def _workloads(table) -> dict[str, WorkloadSpec]:
    if not isinstance(table, dict):
        raise ConfigFileError("workload", "must be a table of kinds")
    out = {}
    for kind, spec in table.items():
        if kind not in ENGINE_KINDS:
            raise ConfigFileError(f"workload.{kind}", f"unknown engine kind; kinds are {', '.join(ENGINE_KINDS)}")
        try:
            out[kind] = parse_workload(f"workload.{kind}", spec)
        except WorkloadError as exc:
            raise ConfigFileError(exc.key, str(exc)) from None
    return out


def with_workload(fleet: Mapping[str, KindConfig], workload: Mapping[str, WorkloadSpec]) -> dict:
    """Each kind's env with its workload's variables (explicit env wins).

    A workload for a kind the fleet does not run yet adds that kind with 0
    replicas, so pods scaled in later generate it too.
    """
    out = dict(fleet)
    for kind, spec in workload.items():
        base = out.get(kind, KindConfig(0))
        out[kind] = KindConfig(base.replicas, MappingProxyType({**spec.env(), **base.env}))
    return out


def load_config(path) -> EmulatorConfig:
    from pathlib import Path
    p = Path(path)
    return parse_config(p.read_text(), str(p))
