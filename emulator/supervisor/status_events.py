"""Turning two successive engine /status snapshots into emulator events (pure)."""
from __future__ import annotations


# Phases worth an event: waiting on a store that refuses, and leaving that wait. The
# routine round (idle -> cutting -> pushing -> idle) is what engine.pushed reports.
NOTABLE_PHASES = ("restoring", "restore_wait", "push_wait", "exited")


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
    phase, was = current.get("phase"), previous.get("phase")
    if previous and phase and phase != was and (phase in NOTABLE_PHASES or was in NOTABLE_PHASES):
        out.append(("engine.phase", {"phase": phase, "was": was}))
    out += [("engine.alert", {"alert": a.get("kind"), "message": a.get("message"), "at": a.get("at")})
            for a in new_alerts(previous.get("recent_alerts") or [], current.get("recent_alerts") or [])]
    return out


def new_alerts(before: list, after: list) -> list[dict]:
    """The engine's alerts raised since the last snapshot (its list keeps the last 20)."""
    seen = max((a.get("at") or 0 for a in before if isinstance(a, dict)), default=0)
    return [a for a in after if isinstance(a, dict) and (a.get("at") or 0) > seen]
