"""Turning two successive engine /status snapshots into emulator events (pure)."""
from __future__ import annotations


def status_events(previous: dict, current: dict) -> list[tuple[str, dict]]:
    """[(event kind, data)] for what changed between two /status snapshots."""
    out: list[tuple[str, dict]] = []
    if not previous:
        boot = current.get("boot") or {}
        if isinstance(boot, dict) and boot.get("how") == "restored":
            recovery = current.get("recovery") or {}
            out.append(("engine.restored", {"cursor": boot.get("cursor"),
                                            "records": recovery.get("records"),
                                            "lsn": recovery.get("lsn"),
                                            "lineage": boot.get("lineage")}))
    before, after = previous.get("last_push") or {}, current.get("last_push") or {}
    if after and after != before:
        status = after.get("status")
        ok = isinstance(status, int) and status in (200, 202)
        out.append(("engine.pushed" if ok else "engine.push_failed",
                    {"snapshot": after.get("kind"), "status": status,
                     "cursor": current.get("cursor"), "durable_lsn": current.get("durable_lsn")}))
    if previous and previous.get("discovery") != current.get("discovery") and current.get("discovery"):
        out.append(("membership.changed", {"discovery": current.get("discovery")}))
    return out
