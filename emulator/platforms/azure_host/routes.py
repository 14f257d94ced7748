"""Azure Functions HTTP routing, pure: host.json's route prefix and the
trigger's route template (`persist`, `items/{id}`, `{*path}`) matched against
a request path, giving the route parameters the function reads.

Only what the Functions host documents for templates is taken: literal
segments, `{name}` (one segment), `{*name}` (the rest, possibly empty, last
only), and an optional `{name?}`. Constraints such as `{id:int}` are refused
at load, naming the route, rather than ignored.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Mapping

DEFAULT_ROUTE_PREFIX = "api"  # the host's default when host.json says nothing
_PARAM = re.compile(r"^\{(\*?)([A-Za-z_][A-Za-z0-9_]*)(\??)\}$")


class RouteError(ValueError):
    """A route template or host.json this host cannot serve; the message names it."""


@dataclass(frozen=True)
class Segment:
    literal: str | None = None    # a fixed segment (case-insensitive, as ASP.NET routes are)
    param: str | None = None      # {name}
    rest: bool = False            # {*name}
    optional: bool = False        # {name?}


@dataclass(frozen=True)
class Route:
    template: str
    segments: tuple[Segment, ...]

    def match(self, parts: list[str]) -> dict[str, str] | None:
        params: dict[str, str] = {}
        for i, seg in enumerate(self.segments):
            if seg.rest:
                params[seg.param] = "/".join(parts[i:])
                return params
            if i >= len(parts):
                if seg.optional:
                    continue
                return None
            if seg.literal is not None:
                if parts[i].lower() != seg.literal.lower():
                    return None
            else:
                params[seg.param] = parts[i]
        return params if len(parts) <= len(self.segments) else None


def compile_route(template: str) -> Route:
    segments = []
    pieces = [p for p in template.strip("/").split("/") if p] if template else []
    for i, piece in enumerate(pieces):
        if "{" not in piece and "}" not in piece:
            segments.append(Segment(literal=piece))
            continue
        m = _PARAM.match(piece)
        if m is None:
            raise RouteError(f"route {template!r}: segment {piece!r} is not a literal, {{name}}, "
                             "{name?} or {*name} (constraints are not supported by this host)")
        rest, name, optional = bool(m.group(1)), m.group(2), bool(m.group(3))
        if rest and i != len(pieces) - 1:
            raise RouteError(f"route {template!r}: {{*{name}}} must be the last segment")
        segments.append(Segment(param=name, rest=rest, optional=optional))
    return Route(template, tuple(segments))


def route_prefix(host_json: Mapping | None) -> str:
    """host.json's extensions.http.routePrefix ('' serves functions at the root)."""
    http = ((host_json or {}).get("extensions") or {}).get("http") or {}
    prefix = http.get("routePrefix", DEFAULT_ROUTE_PREFIX)
    if not isinstance(prefix, str):
        raise RouteError(f"host.json: extensions.http.routePrefix must be a string, got {prefix!r}")
    return prefix.strip("/")


def load_host_json(text: str, name: str = "host.json") -> dict:
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise RouteError(f"{name}: not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise RouteError(f"{name}: must be a JSON object")
    return data


def strip_prefix(prefix: str, path: str) -> list[str] | None:
    """The path's segments under the prefix, or None when it is not under it."""
    parts = [p for p in path.split("/") if p != ""]
    if not prefix:
        return parts
    head = prefix.split("/")
    if [p.lower() for p in parts[:len(head)]] != [h.lower() for h in head]:
        return None
    return parts[len(head):]


def allows(methods: tuple[str, ...] | None, method: str) -> bool:
    """A trigger without methods takes every method."""
    return not methods or method.upper() in methods
