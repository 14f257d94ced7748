"""What a compose file holds, decided before anything is written: pure.

`wkp-emu compose` turns its options into a ComposePlan: the mode, one slot per
engine replica (its service name, instance id, ports) and the shared services
the file needs. Every port is fixed in the file, because the services share
the host's network (`network_mode: host`, so all traffic stays on loopback):

    store     port_base            the emulator's S3 store (moto), offline files only
    function  port_base + 1        the emulator's WKP-1 function, offline serverless files only
    engine i  port_base + 10 + 2i  its data API (i counts every replica, in --engines order)
    sidecar i port_base + 11 + 2i  its persistence sidecar (container mode)

Every error names the option it is about (ComposeError.option).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from emulator.protocol.names import ENGINE_KINDS

MODES = ("serverless", "container", "disabled")
DEFAULT_MODE = "serverless"
DEFAULT_ENGINES = "relational=1"
DEFAULT_PORT_BASE = 18700
DEFAULT_SCHEDULE = "*/15 * * * *"     # the seed's default: every 15 minutes
DEFAULT_TENANT = "default"
DEFAULT_BUCKET = "wkp-emu"
DEFAULT_ENV_FILE = "wkp-emu.env"
DEFAULT_STORE_DIR = "wkp-emu-store"
MAX_REPLICAS = 100                    # every replica costs two ports; the range must stay small
ENGINE_PORT_OFFSET = 10

_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")      # S3's bucket naming rule
_RELATIVE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")     # a file or directory beside the compose file


class ComposeError(ValueError):
    """A user error; `option` is the command-line option it is about."""

    def __init__(self, option: str, message: str):
        super().__init__(f"{option}: {message}")
        self.option = option


@dataclass(frozen=True)
class EngineSlot:
    kind: str
    ordinal: int          # 1-based within its kind
    port: int             # the engine's data API
    sidecar_port: int     # its persistence sidecar's (container mode only)

    @property
    def name(self) -> str:
        """Service name, volume prefix and WEFTKIT_PERSIST_INSTANCE_ID: stable across
        recreations, so an engine on a fresh volume restores its own subtree."""
        return f"{self.kind}-{self.ordinal}"

    @property
    def sidecar_name(self) -> str:
        return f"{self.name}-persistence"

    @property
    def volume(self) -> str:
        return f"{self.name}-data"


@dataclass(frozen=True)
class ComposePlan:
    mode: str
    slots: tuple[EngineSlot, ...]
    endpoint: str | None      # serverless: the user's WKP-1 function; container: the central S3 store
    image: str
    port_base: int
    schedule: str
    tenant: str
    bucket: str
    env_file: str
    store_dir: str

    @property
    def store_port(self) -> int:
        return self.port_base

    @property
    def function_port(self) -> int:
        return self.port_base + 1

    @property
    def offline(self) -> bool:
        """No --endpoint: the file brings the emulator's own store (and function)."""
        return self.endpoint is None

    @property
    def has_store(self) -> bool:
        return self.offline and self.mode in ("serverless", "container")

    @property
    def has_function(self) -> bool:
        return self.offline and self.mode == "serverless"

    @property
    def needs_secret(self) -> bool:
        return self.mode in ("serverless", "container")

    @property
    def checks_its_own_secret(self) -> bool:
        """The file runs whatever verifies the engines' signatures (the emulator's function,
        or the sidecars), so the secret may be made up here; else it is the user's function's."""
        return self.mode == "container" or self.has_function

    @property
    def store_url(self) -> str:
        """The S3 store the function or the sidecars write to."""
        return self.endpoint if self.mode == "container" and self.endpoint else \
            f"http://127.0.0.1:{self.store_port}"

    @property
    def function_url(self) -> str:
        return self.endpoint or f"http://127.0.0.1:{self.function_port}"

    def engine_endpoint(self, slot: EngineSlot) -> str | None:
        """WEFTKIT_PERSIST_ENDPOINT for this engine: the function, or its own sidecar."""
        if self.mode == "serverless":
            return self.function_url
        if self.mode == "container":
            return f"http://127.0.0.1:{slot.sidecar_port}"
        return None


def parse_engines(text: str) -> tuple[tuple[str, int], ...]:
    """'relational=1,vector=2' -> (('relational', 1), ('vector', 2)); a bare kind is one replica."""
    counts: dict[str, int] = {}
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        kind, sep, count_text = (s.strip() for s in item.partition("="))
        if kind not in ENGINE_KINDS:
            raise ComposeError("--engines", f"{kind!r} is not an engine kind ({', '.join(ENGINE_KINDS)})")
        if kind in counts:
            raise ComposeError("--engines", f"{kind} is given twice")
        if sep and not count_text.isdigit():
            raise ComposeError("--engines", f"{item!r}: the count must be a whole number (KIND=N)")
        counts[kind] = int(count_text) if sep else 1
    if sum(counts.values()) == 0:
        raise ComposeError("--engines", "no engine: name at least one, e.g. relational=1")
    if sum(counts.values()) > MAX_REPLICAS:
        raise ComposeError("--engines", f"{sum(counts.values())} replicas; at most {MAX_REPLICAS}")
    return tuple((kind, n) for kind, n in counts.items() if n > 0)


def engine_slots(engines: tuple[tuple[str, int], ...], port_base: int) -> tuple[EngineSlot, ...]:
    slots, i = [], 0
    for kind, count in engines:
        for ordinal in range(1, count + 1):
            port = port_base + ENGINE_PORT_OFFSET + 2 * i
            slots.append(EngineSlot(kind, ordinal, port, port + 1))
            i += 1
    return tuple(slots)


def _check_url(option: str, url: str, what: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ComposeError(option, f"{url!r} is not an http(s) URL of {what}")
    if parts.query or parts.fragment:
        raise ComposeError(option, f"{url!r}: no query or fragment")
    try:
        parts.port
    except ValueError:
        raise ComposeError(option, f"{url!r}: the port is not a number 1-65535") from None
    return url.rstrip("/")


def _check_relative(option: str, value: str) -> str:
    if not _RELATIVE_NAME.fullmatch(value) or value in (".", ".."):
        raise ComposeError(option, f"{value!r}: a plain file name beside the compose file "
                           "(letters, digits, . _ -; no path)")
    return value


def make_plan(*, mode: str = DEFAULT_MODE, engines: str = DEFAULT_ENGINES, endpoint: str | None = None,
              image: str, port_base: int = DEFAULT_PORT_BASE, schedule: str = DEFAULT_SCHEDULE,
              tenant: str = DEFAULT_TENANT, bucket: str = DEFAULT_BUCKET, env_file: str = DEFAULT_ENV_FILE,
              store_dir: str = DEFAULT_STORE_DIR) -> ComposePlan:
    if mode not in MODES:
        raise ComposeError("--mode", f"{mode!r}: one of {', '.join(MODES)}")
    counts = parse_engines(engines)
    if not 1024 <= port_base <= 65535 - ENGINE_PORT_OFFSET - 2 * MAX_REPLICAS:
        raise ComposeError("--port-base", f"{port_base}: between 1024 and "
                           f"{65535 - ENGINE_PORT_OFFSET - 2 * MAX_REPLICAS}")
    if endpoint is not None:
        if mode == "disabled":
            raise ComposeError("--endpoint", "disabled mode talks to nothing; drop --endpoint")
        endpoint = _check_url("--endpoint", endpoint, "the WKP-1 function" if mode == "serverless"
                              else "the central S3 store")
    if not image or any(c.isspace() for c in image):
        raise ComposeError("--image", f"{image!r} is not an image reference")
    if not _BUCKET.fullmatch(bucket):
        raise ComposeError("--bucket", f"{bucket!r} is not an S3 bucket name (3-63 of a-z 0-9 . -)")
    return ComposePlan(mode=mode, slots=engine_slots(counts, port_base), endpoint=endpoint, image=image,
                       port_base=port_base, schedule=schedule, tenant=tenant, bucket=bucket,
                       env_file=_check_relative("--env-file", env_file),
                       store_dir=_check_relative("--store-dir", store_dir))
