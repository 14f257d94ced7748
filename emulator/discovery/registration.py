"""Parsing what an instance registers (POST /v1/register): each bad field named."""
from __future__ import annotations

from emulator.membership import Meta

from .config import NAME
from .views import balancer_address

MAX_TEXT = 256
MAX_GROUPS = 32


class RequestError(ValueError):
    def __init__(self, field: str, problem: str):
        super().__init__(f"{field}: {problem}")
        self.field = field


def _text(obj: dict, field: str) -> str:
    value = obj.get(field)
    if not isinstance(value, str) or not value.strip():
        raise RequestError(field, "required, a non-empty string")
    if len(value) > MAX_TEXT or not value.isprintable():
        raise RequestError(field, f"at most {MAX_TEXT} printable characters")
    return value


def parse_registration(obj) -> tuple[str, Meta]:
    if not isinstance(obj, dict):
        raise RequestError("body", "expected a JSON object")
    known = {"node_id", "type", "protocol", "endpoint", "groups"}
    unknown = sorted(set(obj) - known)
    if unknown:
        raise RequestError(unknown[0], f"unknown field (known: {', '.join(sorted(known))})")
    node_id = _text(obj, "node_id")
    if not NAME.match(node_id):
        raise RequestError("node_id", "letters, digits, '.', '_', ':' and '-' only, "
                           "starting with a letter or digit, at most 128")
    endpoint = _text(obj, "endpoint")
    if balancer_address(endpoint) is None:
        raise RequestError("endpoint", f"expected host:port or a URL with a port, got {endpoint!r}")
    groups = obj.get("groups", [])
    if not isinstance(groups, list) or len(groups) > MAX_GROUPS or not all(
            isinstance(g, str) and NAME.match(g) for g in groups):
        raise RequestError("groups", f"expected at most {MAX_GROUPS} names "
                           "(letters, digits, . _ : -), e.g. [\"relational-primary\"]")
    meta = Meta(_text(obj, "type"), _text(obj, "protocol"), endpoint, tuple(dict.fromkeys(groups)))
    return node_id, meta
