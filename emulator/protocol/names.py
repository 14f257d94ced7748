"""Header names and the identifier charsets of WKP-1.

Tenant, engine and instance id become path segments of object keys, so they
are held to a charset with no "/", no "..", no leading dot and no control
characters: no value can escape its subtree (docs/protocol-decisions.md).
"""
from __future__ import annotations

import re

from .errors import MalformedRequest

PROTOCOL = "X-WeftKit-Protocol"
ENGINE = "X-WeftKit-Engine"
VERSION = "X-WeftKit-Version"
TENANT = "X-WeftKit-Tenant"
INSTANCE_ID = "X-WeftKit-Instance-Id"
STRATEGY = "X-WeftKit-Strategy"
SNAPSHOT_KIND = "X-WeftKit-Snapshot-Kind"
CURSOR_FROM = "X-WeftKit-Cursor-From"
CURSOR_TO = "X-WeftKit-Cursor-To"
CURSOR = "X-WeftKit-Cursor"
CHECKSUM = "X-WeftKit-Checksum"
TIMESTAMP = "X-WeftKit-Timestamp"
REQUEST_ID = "X-WeftKit-Request-Id"
SIGNATURE = "X-WeftKit-Signature"
# Extensions (docs/protocol-decisions.md): split pushes, the 413 limit, takeover.
PART = "X-WeftKit-Part"
MAX_PAYLOAD = "X-WeftKit-Max-Payload"
LINEAGE = "X-WeftKit-Lineage"
DELTAS = "X-WeftKit-Deltas"

PROTOCOL_VERSION = "v1"
ENGINE_KINDS = ("relational", "document", "graph", "inmemory",
                "keyvalue", "vector", "markdown", "filestore")
STRATEGIES = ("full", "delta", "incremental")
SNAPSHOT_KINDS = ("full", "delta")

_TENANT = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_ENGINE = re.compile(r"[a-z][a-z0-9-]{0,31}")
_INSTANCE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")
_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}")
_VERSION = re.compile(r"[0-9A-Za-z][0-9A-Za-z.+_-]{0,63}")


def _check(pattern: re.Pattern, value: str | None, header: str, what: str) -> str:
    if value is None or value == "":
        raise MalformedRequest(f"missing {header}", header=header)
    if not pattern.fullmatch(value) or ".." in value:
        raise MalformedRequest(f"{header} {value!r} is not a valid {what}", header=header)
    return value


def tenant(value, header=TENANT):
    return _check(_TENANT, value, header, "tenant (letters, digits, . _ -; 1-64)")


def engine(value, header=ENGINE):
    return _check(_ENGINE, value, header, "engine name (lower-case letters, digits, -)")


def instance_id(value, header=INSTANCE_ID):
    return _check(_INSTANCE, value, header, "instance id (letters, digits, . _ -; 1-128)")


def request_id(value, header=REQUEST_ID):
    return _check(_REQUEST_ID, value, header, "request id (letters, digits, . _ : -; 1-128)")


def version(value, header=VERSION):
    return _check(_VERSION, value, header, "version")


def one_of(value: str | None, allowed: tuple[str, ...], header: str) -> str:
    if value is None or value == "":
        raise MalformedRequest(f"missing {header}", header=header)
    if value not in allowed:
        raise MalformedRequest(f"{header} {value!r} is not one of {', '.join(allowed)}", header=header)
    return value
