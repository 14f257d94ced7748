"""Request and response header models for /persist, /restore and /health.

`from_headers` validates a case-insensitive mapping (as any HTTP library gives)
and raises MalformedRequest naming the first bad header; `to_headers` produces
what a client sends. Signature and freshness are checked in signing.py, after
these models extract what it needs.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from . import names as n
from .codec import Encoding
from .cursor import Cursor, parse_optional
from .errors import MalformedRequest
from .signing import parse_timestamp

_HEX = set("0123456789abcdef")


def _is_decimal(text: str, max_digits: int = 18) -> bool:
    """ASCII digits only: str.isdigit() also accepts "²" (int() then raises) and "٣".
    Bounded: int() refuses more than 4300 digits, and no field here needs more than 18."""
    return text.isascii() and text.isdigit() and len(text) <= max_digits


def _get(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is None:  # plain dicts are case-sensitive; HTTP headers are not
        lowered = name.lower()
        for key, val in headers.items():
            if key.lower() == lowered:
                return val
    return value


def _protocol(headers) -> None:
    value = _get(headers, n.PROTOCOL)
    if value != n.PROTOCOL_VERSION:
        raise MalformedRequest(f"{n.PROTOCOL} must be {n.PROTOCOL_VERSION}, got {value!r}",
                               header=n.PROTOCOL)


def parse_checksum(value: str | None, header: str = n.CHECKSUM) -> str:
    if not value:
        raise MalformedRequest(f"missing {header}", header=header)
    algo, _, hexdigest = value.partition("=")
    if algo != "sha256" or len(hexdigest) != 64 or not set(hexdigest) <= _HEX:
        raise MalformedRequest(f"{header} must be sha256=<64 lowercase hex>", header=header)
    return hexdigest


def _cursor(headers, name: str, required: bool) -> Cursor | None:
    raw = _get(headers, name)
    if required and not raw:
        raise MalformedRequest(f"missing {name}", header=name)
    try:
        return parse_optional(raw)
    except MalformedRequest as exc:
        raise MalformedRequest(f"{name}: {exc.reason}", header=name) from None


@dataclass(frozen=True)
class Part:
    """One piece of a push split after a 413: `index` of `count`, 1-based."""
    index: int
    count: int

    @classmethod
    def parse(cls, value: str | None) -> "Part | None":
        if value is None or value == "":
            return None
        left, sep, right = value.partition("/")
        if not (sep and _is_decimal(left, 4) and _is_decimal(right, 4)):
            raise MalformedRequest(f"{n.PART} {value!r} is not i/n", header=n.PART)
        index, count = int(left), int(right)
        if not 1 <= index <= count <= 9999:
            raise MalformedRequest(f"{n.PART} {value!r} needs 1 <= i <= n <= 9999", header=n.PART)
        return cls(index, count)

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


@dataclass(frozen=True)
class PersistHeaders:
    engine: str
    version: str
    tenant: str
    instance_id: str
    strategy: str
    kind: str
    cursor_from: Cursor | None
    cursor_to: Cursor
    checksum: str  # hex sha256 of the body bytes as sent
    timestamp: int
    request_id: str
    signature: str
    encoding: Encoding
    content_length: int | None = None
    part: Part | None = None

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> "PersistHeaders":
        _protocol(headers)
        kind = n.one_of(_get(headers, n.SNAPSHOT_KIND), n.SNAPSHOT_KINDS, n.SNAPSHOT_KIND)
        cursor_from = _cursor(headers, n.CURSOR_FROM, required=(kind == "delta"))
        cursor_to = _cursor(headers, n.CURSOR_TO, required=True)
        if kind == "delta":
            if cursor_from >= cursor_to:
                raise MalformedRequest(f"delta {n.CURSOR_FROM} {cursor_from} must be before "
                                       f"{n.CURSOR_TO} {cursor_to}", header=n.CURSOR_FROM)
            if cursor_from.epoch != cursor_to.epoch:
                raise MalformedRequest("a delta cannot cross epochs; epochs begin with a full",
                                       header=n.CURSOR_TO)
        elif cursor_from is not None and cursor_from > cursor_to:
            raise MalformedRequest(f"{n.CURSOR_FROM} is after {n.CURSOR_TO}", header=n.CURSOR_FROM)
        length = _get(headers, "Content-Length")
        if length is not None and not _is_decimal(length):
            raise MalformedRequest(f"Content-Length {length!r} is not a number", header="Content-Length")
        return cls(
            engine=n.engine(_get(headers, n.ENGINE)),
            version=n.version(_get(headers, n.VERSION)),
            tenant=n.tenant(_get(headers, n.TENANT)),
            instance_id=n.instance_id(_get(headers, n.INSTANCE_ID)),
            strategy=n.one_of(_get(headers, n.STRATEGY), n.STRATEGIES, n.STRATEGY),
            kind=kind,
            cursor_from=cursor_from,
            cursor_to=cursor_to,
            checksum=parse_checksum(_get(headers, n.CHECKSUM)),
            timestamp=parse_timestamp(_get(headers, n.TIMESTAMP)),
            request_id=n.request_id(_get(headers, n.REQUEST_ID)),
            signature=_get(headers, n.SIGNATURE) or "",
            encoding=Encoding.from_header(_get(headers, "Content-Encoding")),
            content_length=int(length) if length is not None else None,
            part=Part.parse(_get(headers, n.PART)),
        )

    def to_headers(self) -> dict[str, str]:
        out = {
            "Content-Type": "application/octet-stream",
            "Content-Encoding": self.encoding.header,
            n.PROTOCOL: n.PROTOCOL_VERSION,
            n.ENGINE: self.engine,
            n.VERSION: self.version,
            n.TENANT: self.tenant,
            n.INSTANCE_ID: self.instance_id,
            n.STRATEGY: self.strategy,
            n.SNAPSHOT_KIND: self.kind,
            n.CURSOR_FROM: str(self.cursor_from) if self.cursor_from else "",
            n.CURSOR_TO: str(self.cursor_to),
            n.CHECKSUM: f"sha256={self.checksum}",
            n.TIMESTAMP: str(self.timestamp),
            n.REQUEST_ID: self.request_id,
            n.SIGNATURE: self.signature,
        }
        if self.part:
            out[n.PART] = str(self.part)
        return out


@dataclass(frozen=True)
class RestoreQuery:
    """GET /restore?tenant=&engine=&cursor=&latest=true[&strategy=full][&takeover=newest]

    `cursor` empty means latest; a cursor means "restore up to this point"
    (point-in-time); `latest=true` with a cursor is contradictory (400).
    `strategy=full` asks for one full only; `takeover=newest` opts into the
    lineage takeover for a new instance id (docs/protocol-decisions.md).
    """
    tenant: str
    engine: str
    up_to: Cursor | None
    full_only: bool
    takeover: bool

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> "RestoreQuery":
        up_to = None
        raw_cursor = query.get("cursor", "")
        if raw_cursor:
            try:
                up_to = Cursor.parse(raw_cursor)
            except MalformedRequest as exc:
                raise MalformedRequest(f"query cursor: {exc.reason}", header="cursor") from None
        latest = query.get("latest", "")
        if latest not in ("", "true", "false"):
            raise MalformedRequest(f"query latest={latest!r} must be true or false", header="latest")
        if latest == "true" and up_to is not None:
            raise MalformedRequest("latest=true contradicts an explicit cursor", header="latest")
        strategy = query.get("strategy", "")
        if strategy not in ("",) + n.STRATEGIES:
            raise MalformedRequest(f"query strategy={strategy!r} is unknown", header="strategy")
        takeover = query.get("takeover", "")
        if takeover not in ("", "newest"):
            raise MalformedRequest(f"query takeover={takeover!r} must be newest", header="takeover")
        return cls(tenant=n.tenant(query.get("tenant"), header="tenant"),
                   engine=n.engine(query.get("engine"), header="engine"),
                   up_to=up_to, full_only=(strategy == "full"), takeover=bool(takeover))

    def to_query(self) -> str:
        parts = [f"tenant={self.tenant}", f"engine={self.engine}",
                 f"cursor={self.up_to or ''}", f"latest={'false' if self.up_to else 'true'}"]
        if self.full_only:
            parts.append("strategy=full")
        if self.takeover:
            parts.append("takeover=newest")
        return "&".join(parts)


@dataclass(frozen=True)
class RestoreHeaders:
    engine: str
    instance_id: str
    timestamp: int
    request_id: str
    signature: str

    @classmethod
    def from_headers(cls, headers: Mapping[str, str], query: RestoreQuery) -> "RestoreHeaders":
        _protocol(headers)
        engine = n.engine(_get(headers, n.ENGINE))
        if engine != query.engine:
            raise MalformedRequest(f"{n.ENGINE} {engine!r} differs from query engine {query.engine!r}",
                                   header=n.ENGINE)
        tenant = _get(headers, n.TENANT)
        if tenant is not None and tenant != query.tenant:
            raise MalformedRequest(f"{n.TENANT} {tenant!r} differs from query tenant", header=n.TENANT)
        return cls(engine=engine,
                   instance_id=n.instance_id(_get(headers, n.INSTANCE_ID)),
                   timestamp=parse_timestamp(_get(headers, n.TIMESTAMP)),
                   request_id=n.request_id(_get(headers, n.REQUEST_ID)),
                   signature=_get(headers, n.SIGNATURE) or "")


@dataclass(frozen=True)
class HealthHeaders:
    timestamp: int
    request_id: str  # "" when absent: the canonical line is then empty
    signature: str

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> "HealthHeaders":
        _protocol(headers)
        rid = _get(headers, n.REQUEST_ID) or ""
        if rid:
            n.request_id(rid)
        return cls(timestamp=parse_timestamp(_get(headers, n.TIMESTAMP)), request_id=rid,
                   signature=_get(headers, n.SIGNATURE) or "")


@dataclass(frozen=True)
class RestoreResponse:
    """The headers a 200 /restore carries."""
    cursor: Cursor
    checksum: str
    encoding: Encoding
    deltas: int = 0           # how many deltas follow the full in the body
    lineage: str | None = None  # set when a takeover adopted another instance's lineage
    # Always "full": the body always rebuilds the whole state (a full, then
    # deltas), which is what the engine must know to hydrate an empty volume.
    snapshot_kind: str = "full"

    def to_headers(self) -> dict[str, str]:
        out = {"Content-Type": "application/octet-stream",
               "Content-Encoding": self.encoding.header,
               n.CURSOR: str(self.cursor),
               n.CHECKSUM: f"sha256={self.checksum}",
               n.SNAPSHOT_KIND: self.snapshot_kind,
               n.DELTAS: str(self.deltas)}
        if self.lineage:
            out[n.LINEAGE] = self.lineage
        return out

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> "RestoreResponse":
        cursor = _cursor(headers, n.CURSOR, required=True)
        kind = n.one_of(_get(headers, n.SNAPSHOT_KIND), n.SNAPSHOT_KINDS, n.SNAPSHOT_KIND)
        deltas = _get(headers, n.DELTAS) or "0"
        return cls(cursor=cursor, checksum=parse_checksum(_get(headers, n.CHECKSUM)),
                   encoding=Encoding.from_header(_get(headers, "Content-Encoding")),
                   deltas=int(deltas) if _is_decimal(deltas) else 0,
                   lineage=_get(headers, n.LINEAGE), snapshot_kind=kind)
