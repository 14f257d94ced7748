"""Engine configuration from the environment: the eleven WEFTKIT_PERSIST_*
variables of seed 000 with its defaults, plus the emulator's extensions.

`parse_engine_config(env)` is pure: a mapping in, a frozen EngineConfig out, or
ConfigError naming the variable and the bad value. The engine process prints
that message and exits 2 before it touches its volume or the network.

Seed variables (defaults as in the seed):
    MODE disabled | serverless | container      ENDPOINT, SECRET (serverless)
    SCHEDULE "*/15 * * * *"   ON_SHUTDOWN true   RESTORE_ON_BOOT true
    STRATEGY incremental      MAX_RETRIES 5      COMPRESSION zstd
    TENANT default            INSTANCE_ID (generated, persisted to the volume)
Emulator extensions (a real engine ignores them; docs/engines.md):
    WEFTKIT_PERSIST_TAKEOVER none | newest      WEFTKIT_PERSIST_DAY_SECONDS 86400
    WEFTKIT_PERSIST_SHUTDOWN_BUDGET 30          WEFTKIT_PERSIST_BUFFER_BYTES 256 MiB
    WEFTKIT_PERSIST_BACKOFF_BASE 1              WEFTKIT_PERSIST_HEALTH_INTERVAL 60
    WEFTKIT_PERSIST_REQUEST_TIMEOUT 60          WEFTKIT_PERSIST_STORE_ENDPOINT / _BUCKET
    WEFTKIT_ENGINE_WORKLOAD_RATE / _KEYS / _SEED / _VALUE_BYTES / _DELETES
    WEFTKIT_ENGINE_WORKLOAD_BURST_WRITES / _BURST_EVERY   WEFTKIT_ENGINE_COMPACT_BYTES
    WEFTKIT_ENGINE_WITNESS_DIR
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping
from urllib.parse import urlsplit

from . import names
from .codec import Encoding
from .errors import MalformedRequest
from .schedule import DEFAULT_SCHEDULE, Schedule, ScheduleError

P = "WEFTKIT_PERSIST_"
E = "WEFTKIT_ENGINE_"
MODES = ("disabled", "serverless", "container")
TAKEOVERS = ("none", "newest")
_TRUE = ("true", "1", "yes", "on")
_FALSE = ("false", "0", "no", "off")
_LOOPBACK = ("127.0.0.1", "localhost", "::1")
SEED_VARIABLES = tuple(P + v for v in (
    "MODE", "ENDPOINT", "SECRET", "SCHEDULE", "ON_SHUTDOWN", "RESTORE_ON_BOOT", "STRATEGY",
    "MAX_RETRIES", "COMPRESSION", "TENANT", "INSTANCE_ID"))


class ConfigError(ValueError):
    """A bad setting; `variable` names the environment variable to fix."""

    def __init__(self, variable: str, message: str):
        super().__init__(f"{variable}: {message}")
        self.variable = variable


@dataclass(frozen=True)
class WorkloadConfig:
    """The optional built-in write generator (off when rate is 0)."""
    rate: float = 0.0           # writes per second
    auto: bool = False          # WORKLOAD_RATE=auto: the kind's typical rate
    keys: int = 0               # key space; 0 = the kind's default
    seed: int | None = None
    value_bytes: int = 0        # size of each value; 0 = the kind's typical size
    deletes: float = 0.0        # share of operations that delete a key (0..1)
    burst_writes: int = 0       # extra writes at once every burst_every_s (0: no bursts)
    burst_every_s: float = 0.0


@dataclass(frozen=True)
class EngineConfig:
    mode: str = "disabled"
    endpoint: str | None = None
    secret: str | None = None
    schedule: Schedule = Schedule.parse(DEFAULT_SCHEDULE)
    on_shutdown: bool = True
    restore_on_boot: bool = True
    strategy: str = "incremental"
    max_retries: int = 5
    compression: Encoding = Encoding.ZSTD
    tenant: str = "default"
    instance_id: str | None = None       # None: generated once, kept on the volume
    # extensions
    takeover: bool = False
    day_seconds: int = 86400
    shutdown_budget_s: float = 30.0
    buffer_bytes: int = 256 * 1024 * 1024
    backoff_base_s: float = 1.0
    backoff_cap_s: float = 60.0          # seed: "exponential back-off up to 60 s"
    health_interval_s: float = 60.0
    request_timeout_s: float = 60.0
    store_endpoint: str | None = None    # container mode: the sidecar's S3 store
    store_bucket: str = "wkp-emu"
    compact_bytes: int = 8 * 1024 * 1024
    witness_dir: str | None = None
    workload: WorkloadConfig = WorkloadConfig()

    @property
    def persists(self) -> bool:
        return self.mode != "disabled"

    @property
    def max_attempts(self) -> int:
        """Seed: MAX_RETRIES 5 = "5 attempts" per push; 0 still means one try."""
        return max(1, self.max_retries)


def _raw(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name)
    return None if value is None or value.strip() == "" else value.strip()


def _choice(env, name, allowed, default):
    value = _raw(env, name)
    if value is None:
        return default
    if value.lower() not in allowed:
        raise ConfigError(name, f"{value!r} is not one of {', '.join(allowed)}")
    return value.lower()


def _bool(env, name, default: bool) -> bool:
    value = _raw(env, name)
    if value is None:
        return default
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise ConfigError(name, f"{value!r} is not a boolean (true/false, 1/0, yes/no, on/off)")


def _number(env, name, default, *, kind: Callable = int, minimum=0, maximum=None, what="number"):
    value = _raw(env, name)
    if value is None:
        return default
    try:
        number = kind(value)
    except ValueError:
        raise ConfigError(name, f"{value!r} is not a {what}") from None
    if number != number or number < minimum or (maximum is not None and number > maximum):
        bound = f">= {minimum}" + (f" and <= {maximum}" if maximum is not None else "")
        raise ConfigError(name, f"{value!r} is out of range: must be {bound}")
    return number


def _endpoint(env, name) -> str | None:
    value = _raw(env, name)
    if value is None:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ConfigError(name, f"{value!r} is not an http(s) URL")
    if parts.scheme == "http" and parts.hostname not in _LOOPBACK:
        raise ConfigError(name, f"{value!r}: plain http is allowed only on loopback; use https")
    if parts.query or parts.fragment:
        raise ConfigError(name, f"{value!r} must not carry a query or fragment")
    return value.rstrip("/")


def _identifier(env, name, check, default):
    value = _raw(env, name)
    if value is None:
        return default
    try:
        return check(value, header=name)
    except MalformedRequest as exc:
        raise ConfigError(name, exc.reason.replace(f"{name} ", "", 1)) from None


def _schedule(env) -> Schedule:
    name = P + "SCHEDULE"
    value = _raw(env, name)
    try:
        return Schedule.parse(value or DEFAULT_SCHEDULE)
    except ScheduleError as exc:
        raise ConfigError(name, str(exc)) from None


def _workload(env) -> WorkloadConfig:
    auto = (_raw(env, E + "WORKLOAD_RATE") or "").lower() == "auto"
    cfg = WorkloadConfig(
        rate=0.0 if auto else _number(env, E + "WORKLOAD_RATE", 0.0, kind=float, maximum=100000,
                                      what="rate (writes per second, or auto)"),
        auto=auto,
        keys=_number(env, E + "WORKLOAD_KEYS", 0, maximum=10**9, what="whole number"),
        seed=_number(env, E + "WORKLOAD_SEED", None, what="whole number"),
        value_bytes=_number(env, E + "WORKLOAD_VALUE_BYTES", 0, minimum=0, maximum=64 * 1024 * 1024,
                            what="whole number of bytes"),
        deletes=_number(env, E + "WORKLOAD_DELETES", 0.0, kind=float, maximum=1.0,
                        what="share of operations (0 to 1)"),
        burst_writes=_number(env, E + "WORKLOAD_BURST_WRITES", 0, maximum=10**6, what="whole number"),
        burst_every_s=_number(env, E + "WORKLOAD_BURST_EVERY", 0.0, kind=float, maximum=86400,
                              what="number of seconds"))
    if cfg.burst_writes and not cfg.burst_every_s:
        raise ConfigError(E + "WORKLOAD_BURST_EVERY", "required (seconds > 0) when "
                          "WEFTKIT_ENGINE_WORKLOAD_BURST_WRITES is set")
    return cfg


def _mode_requirements(cfg: dict) -> None:
    if cfg["mode"] == "serverless":
        for key, var in (("endpoint", "ENDPOINT"), ("secret", "SECRET")):
            if not cfg[key]:
                raise ConfigError(P + var, "required when WEFTKIT_PERSIST_MODE=serverless")
    if cfg["mode"] == "container" and not cfg["endpoint"]:
        if not cfg["store_endpoint"]:
            raise ConfigError(P + "STORE_ENDPOINT", "container mode needs the store the sidecar "
                              "forwards to (or WEFTKIT_PERSIST_ENDPOINT of a running sidecar)")
    if cfg["mode"] == "container" and cfg["endpoint"] and not cfg["secret"]:
        raise ConfigError(P + "SECRET", "required with WEFTKIT_PERSIST_ENDPOINT in container mode")


def parse_engine_config(env: Mapping[str, str]) -> EngineConfig:
    """Read every setting, failing on the first bad one with its variable's name."""
    whole, seconds = dict(what="whole number"), dict(kind=float, what="number of seconds")
    cfg = dict(
        mode=_choice(env, P + "MODE", MODES, "disabled"),
        endpoint=_endpoint(env, P + "ENDPOINT"),
        secret=_raw(env, P + "SECRET"),
        schedule=_schedule(env),
        on_shutdown=_bool(env, P + "ON_SHUTDOWN", True),
        restore_on_boot=_bool(env, P + "RESTORE_ON_BOOT", True),
        strategy=_choice(env, P + "STRATEGY", names.STRATEGIES, "incremental"),
        max_retries=_number(env, P + "MAX_RETRIES", 5, maximum=100, **whole),
        compression=Encoding(_choice(env, P + "COMPRESSION", tuple(e.value for e in Encoding), "zstd")),
        tenant=_identifier(env, P + "TENANT", names.tenant, "default"),
        instance_id=_identifier(env, P + "INSTANCE_ID", names.instance_id, None),
        takeover=_choice(env, P + "TAKEOVER", TAKEOVERS, "none") == "newest",
        day_seconds=_number(env, P + "DAY_SECONDS", 86400, minimum=1, **whole),
        shutdown_budget_s=_number(env, P + "SHUTDOWN_BUDGET", 30.0, minimum=0.1, maximum=3600, **seconds),
        buffer_bytes=_number(env, P + "BUFFER_BYTES", 256 * 1024 * 1024, **whole),
        backoff_base_s=_number(env, P + "BACKOFF_BASE", 1.0, minimum=0.001, maximum=60, **seconds),
        health_interval_s=_number(env, P + "HEALTH_INTERVAL", 60.0, maximum=86400, **seconds),
        request_timeout_s=_number(env, P + "REQUEST_TIMEOUT", 60.0, minimum=0.1, maximum=3600, **seconds),
        store_endpoint=_endpoint(env, P + "STORE_ENDPOINT"),
        store_bucket=_raw(env, P + "STORE_BUCKET") or "wkp-emu",
        compact_bytes=_number(env, E + "COMPACT_BYTES", 8 * 1024 * 1024, minimum=1024, **whole),
        witness_dir=_raw(env, E + "WITNESS_DIR"),
        workload=_workload(env),
    )
    _mode_requirements(cfg)
    return EngineConfig(**cfg)
