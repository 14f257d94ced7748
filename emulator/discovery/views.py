"""What the REST API shows: members as JSON, and the load balancer's view of a group.

Pure functions over the core's table, so the formatting is tested without a server.
"""
from __future__ import annotations

import datetime as dt
from typing import Callable, Iterable
from urllib.parse import urlsplit

from emulator.membership import Member, Status
from emulator.membership.table import Entry


def iso(unix: float | None) -> str | None:
    if unix is None:
        return None
    return dt.datetime.fromtimestamp(unix, dt.timezone.utc).isoformat(timespec="milliseconds") \
        .replace("+00:00", "Z")


def member_json(entry: Entry, wall: Callable[[float | None], float | None], now: float) -> dict:
    m = entry.member
    return {
        "node_id": m.node_id,
        "type": m.meta.type,
        "protocol": m.meta.protocol,
        "endpoint": m.meta.endpoint,
        "groups": list(m.meta.groups),
        "status": m.status.value,
        "incarnation": m.incarnation,
        "last_seen": iso(wall(entry.last_seen)),
        "last_seen_age_ms": None if entry.last_seen is None else round((now - entry.last_seen) * 1000),
        "status_since": iso(wall(entry.since)),
        "host": m.host,          # the discovery node vouching for a hosted member
        "gossip_addr": m.addr,   # discovery nodes only
    }


def balancer_address(endpoint: str) -> str | None:
    """'host:port' for a load balancer, from 'host:port' or a URL; None if it has no port."""
    if "://" in endpoint:
        parts = urlsplit(endpoint)
        try:
            port = parts.port
        except ValueError:
            return None
        if parts.hostname is None:
            return None
        port = port or {"http": 80, "https": 443}.get(parts.scheme)
        host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
        return f"{host}:{port}" if port else None
    host, sep, port = endpoint.rpartition(":")
    return endpoint if sep and host and port.isdigit() else None


def in_group(member: Member, group: str) -> bool:
    return group in member.meta.groups


def healthy_endpoints(members: Iterable[Member], group: str, *,
                      include_suspect: bool = False) -> list[str]:
    """The group's serving endpoints, sorted and unique: alive (and, if asked, suspect)."""
    ok = {Status.ALIVE, Status.SUSPECT} if include_suspect else {Status.ALIVE}
    addresses = {balancer_address(m.meta.endpoint) for m in members
                 if in_group(m, group) and m.status in ok}
    return sorted(a for a in addresses if a)


def status_counts(members: Iterable[Member]) -> dict[str, int]:
    counts = {status.value: 0 for status in Status}
    for m in members:
        counts[m.status.value] += 1
    return counts


def group_counts(members: Iterable[Member]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for m in members:
        for group in m.meta.groups:
            out.setdefault(group, {s.value: 0 for s in Status})[m.status.value] += 1
    return dict(sorted(out.items()))
