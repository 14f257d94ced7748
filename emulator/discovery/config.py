"""The `[discovery]` TOML table (seed 003) and what the emulator adds to it.

Every key has one parser in KEYS; a bad value, an unknown key or a missing
companion key (tls_key without tls_cert, ...) raises ConfigError naming the key
and, when it can be found, the line. TOML syntax errors keep tomllib's message,
which has the line and column.
"""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, fields, replace
from pathlib import Path

from emulator.membership import SwimParams

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")


class ConfigError(ValueError):
    def __init__(self, key: str, problem: str, *, source: str = "", line: int | None = None):
        where = f"{source}:{line}: " if source and line else (f"{source}: " if source else "")
        super().__init__(f"{where}discovery.{key}: {problem}")
        self.key = key
        self.line = line


@dataclass(frozen=True)
class DiscoveryConfig:
    node_id: str | None = None          # default: "<hostname>-<udp port>"
    bind: str = "127.0.0.1:7474"        # gossip (UDP); port 0 picks a free one
    advertise: str | None = None        # address others gossip to; default: bind (loopback if 0.0.0.0)
    seeds: tuple[str, ...] = ()
    api_bind: str = "127.0.0.1:7475"    # REST API (TCP); port 0 picks a free one
    gossip_interval_ms: int = 500       # the SWIM protocol period T
    suspicion_timeout_ms: int = 5000
    probe_timeout_ms: int | None = None  # default: 40% of gossip_interval_ms
    indirect_probes: int = 3
    gossip_fanout: int = 3
    retransmit_mult: int = 4
    heartbeat_interval_ms: int = 1000   # what registered engines are told to use
    missed_heartbeats: int = 3          # silence of this many intervals: suspect
    reconnect_interval_ms: int = 10000
    sync_interval_ms: int = 30000
    reap_after_ms: int = 3_600_000
    groups: tuple[str, ...] = ()        # this node's own groups ("discovery" is implied)
    tls_cert: str | None = None
    tls_key: str | None = None
    tls_ca: str | None = None
    rng_seed: int | None = None         # reproducible probe order (tests, scenarios)
    api_url: str = ""                   # set by the runner once the REST socket is bound

    @property
    def tls(self) -> bool:
        return self.tls_cert is not None

    def swim_params(self) -> SwimParams:
        period = self.gossip_interval_ms / 1000
        probe = (self.probe_timeout_ms / 1000 if self.probe_timeout_ms is not None
                 else 0.4 * period)
        return SwimParams(
            period=period, probe_timeout=probe, indirect_probes=self.indirect_probes,
            suspicion_timeout=self.suspicion_timeout_ms / 1000, gossip_fanout=self.gossip_fanout,
            retransmit_mult=self.retransmit_mult,
            heartbeat_timeout=self.heartbeat_interval_ms * self.missed_heartbeats / 1000,
            reconnect_interval=self.reconnect_interval_ms / 1000,
            sync_interval=self.sync_interval_ms / 1000, reap_after=self.reap_after_ms / 1000)


def split_addr(text: str) -> tuple[str, int]:
    """'host:port' or '[v6]:port' -> (host, port); ValueError if malformed."""
    host, sep, port = text.rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if not sep or not host or not port.isascii() or not port.isdigit() or int(port) > 65535:
        raise ValueError(f"expected host:port, got {text!r}")
    return host, int(port)


def _addr(value):
    if not isinstance(value, str):
        raise ValueError(f"expected a \"host:port\" string, got {value!r}")
    split_addr(value)
    return value


def _int(minimum: int):
    def parse(value):
        if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
            raise ValueError(f"expected an integer >= {minimum}, got {value!r}")
        return value
    return parse


def _names(value):
    if not isinstance(value, list) or not all(isinstance(v, str) and NAME.match(v) for v in value):
        raise ValueError(f"expected a list of names (letters, digits, . _ : -), got {value!r}")
    return tuple(value)


def _seeds(value):
    if not isinstance(value, list):
        raise ValueError(f"expected a list of \"host:port\" strings, got {value!r}")
    return tuple(_addr(v) for v in value)


def _node_id(value):
    if not isinstance(value, str) or not NAME.match(value):
        raise ValueError(f"expected a name (letters, digits, . _ : -; at most 128), got {value!r}")
    return value


def _file(value):
    if not isinstance(value, str) or not value:
        raise ValueError(f"expected a file path, got {value!r}")
    if not Path(value).is_file():
        raise ValueError(f"no such file: {value}")
    return value


KEYS = {
    "node_id": _node_id, "bind": _addr, "advertise": _addr, "seeds": _seeds, "api_bind": _addr,
    "gossip_interval_ms": _int(1), "suspicion_timeout_ms": _int(1), "probe_timeout_ms": _int(1),
    "indirect_probes": _int(0), "gossip_fanout": _int(0), "retransmit_mult": _int(1),
    "heartbeat_interval_ms": _int(1), "missed_heartbeats": _int(1),
    "reconnect_interval_ms": _int(1), "sync_interval_ms": _int(0), "reap_after_ms": _int(0),
    "groups": _names, "tls_cert": _file, "tls_key": _file, "tls_ca": _file, "rng_seed": _int(0),
}
assert set(KEYS) <= {f.name for f in fields(DiscoveryConfig)}


def _line_of(text: str, key: str) -> int | None:
    pattern = re.compile(rf"^\s*{re.escape(key)}\s*=")
    for number, line in enumerate(text.splitlines(), 1):
        if pattern.match(line):
            return number
    return None


def from_table(table: dict, *, source: str = "", text: str = "") -> DiscoveryConfig:
    """Validate a parsed [discovery] table (key -> value)."""
    values = {}
    for key, value in table.items():
        where = {"source": source, "line": _line_of(text, key)}
        parser = KEYS.get(key)
        if parser is None:
            raise ConfigError(key, f"unknown key (known: {', '.join(sorted(KEYS))})", **where)
        try:
            values[key] = parser(value)
        except ValueError as exc:
            raise ConfigError(key, str(exc), **where) from None
    return check(DiscoveryConfig(**values), source=source, text=text)


def check(config: DiscoveryConfig, *, source: str = "", text: str = "") -> DiscoveryConfig:
    """Rules between keys; also run on configs built in code (tests, overrides)."""
    def fail(key, problem):
        raise ConfigError(key, problem, source=source, line=_line_of(text, key))

    if config.probe_timeout_ms is not None and config.probe_timeout_ms >= config.gossip_interval_ms:
        fail("probe_timeout_ms", f"must be shorter than gossip_interval_ms "
             f"({config.gossip_interval_ms}): the indirect probe needs the rest of the period")
    if config.tls_cert and not config.tls_key:
        fail("tls_key", "required with tls_cert")
    if config.tls_key and not config.tls_cert:
        fail("tls_cert", "required with tls_key")
    if config.tls_cert and not config.tls_ca:
        fail("tls_ca", "required with tls_cert: mTLS verifies client certificates against it")
    if config.tls_ca and not config.tls_cert:
        fail("tls_cert", "required with tls_ca")
    return config


def load_config(path: str | Path, **overrides) -> DiscoveryConfig:
    """Read FILE.toml's [discovery] table; `overrides` (CLI flags) win over the file."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise ValueError(f"cannot read the config file {path}: {exc.strerror}") from None
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path}: invalid TOML: {exc}") from None
    table = document.get("discovery")
    if not isinstance(table, dict):
        raise ValueError(f"{path}: no [discovery] table")
    config = from_table(table, source=str(path), text=text)
    return with_overrides(config, **overrides)


def with_overrides(config: DiscoveryConfig, **overrides) -> DiscoveryConfig:
    values = {k: v for k, v in overrides.items() if v is not None}
    for key, value in values.items():
        if key in KEYS:
            try:
                values[key] = KEYS[key](list(value) if isinstance(value, tuple) else value)
            except ValueError as exc:
                raise ConfigError(key, f"{exc} (from the command line)") from None
    return check(replace(config, **values))
