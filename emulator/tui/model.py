"""The fleet as the TUI knows it (pure): rows from /v1/fleet, kept current by events.

The poller replaces rows every second with /v1/fleet; between polls each event
updates the row it names at once, so a recycle or a push shows without waiting
for the next poll. `apply_*` return the names whose row changed, so the table
repaints only those.
"""
from __future__ import annotations

from collections import deque
from typing import NamedTuple

STATE_OF_EVENT = {
    "engine.starting": "starting", "engine.started": "running", "engine.stopping": "stopping",
    "engine.stopped": "stopped", "engine.crashed": "crashed", "engine.killed": "killed",
    "engine.failed": "failed",
}


class PushPoint(NamedTuple):
    """One acknowledged push: when, how big, how long from cut to acknowledgement."""
    at: float
    bytes: int
    took_s: float | None


SORTS = ("name", "kind", "state", "lag", "buffered", "push age")
HISTORY = 60  # points of each sparkline


class FleetModel:
    def __init__(self) -> None:
        self.rows: dict[str, dict] = {}
        self.pushes: dict[str, deque] = {}      # name -> its recent acknowledged pushes (PushPoint)
        self.alerts: dict[str, int] = {}        # name -> failed pushes, crashes seen by the view
        self.workloads: dict[str, dict] = {}    # name -> its workload as last switched
        self.versions: dict[str, int] = {}      # name -> bumped on every change (caches key on it)
        self.members: dict[str, str] = {}       # discovery node id (an instance id) -> status
        self.generation = 0                     # bumped on any change: whole-fleet views cache on it
        self._haystacks: dict[str, tuple[int | None, str]] = {}  # name -> (version, what / searches)
        self._shown: dict[tuple[str, str], list[str]] = {}      # (sort, filter) -> names, this generation
        self._shown_generation = -1

    def _bump(self, names: set[str]) -> set[str]:
        for name in names:
            self.versions[name] = self.versions.get(name, 0) + 1
        if names:
            self.generation += 1
        return names

    def apply_fleet(self, engines: list[dict]) -> set[str]:
        fresh = {e["name"]: e for e in engines}
        changed = {n for n in self.rows if n not in fresh}
        for name, row in fresh.items():
            if self.rows.get(name) != row:
                changed.add(name)
            self._note_push(name, row)
        self.rows = fresh
        return self._bump(changed)

    def _note_push(self, name: str, after: dict) -> None:
        """An acknowledged push the poll reports (the engine's last_push: its time, size
        and latency), once: events say a push happened but not its size or latency."""
        push = after.get("last_push") or {}
        if not push or push.get("status") not in (200, 202) or not isinstance(push.get("at"), (int, float)):
            return
        points = self.pushes.setdefault(name, deque(maxlen=HISTORY))
        if not points or points[-1].at != push["at"]:
            points.append(PushPoint(push["at"], push.get("bytes") or 0, push.get("took_s")))

    def apply_members(self, members: list[dict]) -> set[str]:
        """Discovery's view of each engine (alive / suspect / failed / left), by instance id."""
        fresh = {m.get("node_id"): m.get("status") for m in members if m.get("node_id")}
        moved = {k for k in set(fresh) | set(self.members) if fresh.get(k) != self.members.get(k)}
        self.members = fresh
        return self._bump({n for n, r in self.rows.items() if r.get("instance_id") in moved})

    def member_status(self, name: str) -> str | None:
        return self.members.get(self.rows.get(name, {}).get("instance_id"))

    def apply_event(self, event: dict) -> set[str]:
        kind, name, data = event.get("kind", ""), event.get("subject", ""), event.get("data") or {}
        if kind == "fleet.scaled":
            gone = set(data.get("stopped") or ())
            for n in gone:
                self.rows.pop(n, None)
            return self._bump(gone)
        if not kind.startswith(("engine.", "membership.")):
            return set()
        row = self.rows.get(name)
        if row is None:
            if kind != "engine.starting":
                return set()
            row = self.rows[name] = {"name": name, "kind": name.rpartition("-")[0]}
        update = _row_update(kind, data, event.get("at"))
        alerted = kind in ("engine.push_failed", "engine.crashed", "engine.failed")
        if alerted:
            self.alerts[name] = self.alerts.get(name, 0) + 1
        if kind == "engine.alert":  # the engine's own count, which the next poll confirms
            update["alerts"] = (row.get("alerts") or 0) + 1
        if kind == "engine.workload":
            self.workloads[name] = data
        before = dict(row)
        row.update(update)
        return self._bump({name}) if row != before or alerted else set()

    def names(self, text: str = "", sort: str = "name") -> list[str]:
        """The rows to show: those whose name, kind or state contains `text`, sorted.

        Answers are kept until the fleet changes, and a filter is worked out from the
        answer for its longest known prefix (every row that contains "vect" contains
        "vec"), so typing a filter letter by letter, or deleting it, touches only the
        rows still shown; a key press never sorts or scans the whole fleet again
        unless the fleet changed. The list returned is shared: do not change it."""
        text = text.lower()
        if self._shown_generation != self.generation or len(self._shown) > 256:
            self._shown, self._shown_generation = {}, self.generation
        known = self._shown.get((sort, text))
        if known is not None:
            return known
        if not text:
            rows = sorted(self.rows.values(), key=_SORT_KEYS.get(sort, _SORT_KEYS["name"]))
            names = [r["name"] for r in rows]
        else:
            prefix = next((text[:cut] for cut in range(len(text) - 1, 0, -1) if (sort, text[:cut]) in self._shown),
                          "")
            names = [n for n in self.names(prefix, sort) if text in self._haystack(n)]
        self._shown[(sort, text)] = names
        return names

    def _haystack(self, name: str) -> str:
        """What the filter searches in a row: its name, kind and state, lower case."""
        version = self.versions.get(name)
        known = self._haystacks.get(name)
        if known is None or known[0] != version:
            row = self.rows[name]
            known = self._haystacks[name] = (version, "\0".join(
                str(row.get(k, "")).lower() for k in ("name", "kind", "state")))
        return known[1]


def _row_update(kind: str, data: dict, at) -> dict:
    update: dict = {}
    if kind in STATE_OF_EVENT:
        update["state"] = STATE_OF_EVENT[kind]
    for key in ("pid", "port", "instance_id", "generation"):
        if data.get(key) is not None:
            update[key] = data[key]
    if kind == "engine.started" and data.get("boot"):
        update["boot"] = {"how": data["boot"]}
    if kind in ("engine.pushed", "engine.push_failed"):
        update["last_push"] = {"kind": data.get("snapshot"), "status": data.get("status"), "at": at,
                               "bytes": data.get("bytes")}
        for key in ("cursor", "durable_lsn"):
            if data.get(key) is not None:
                update[key] = data[key]
    if kind in ("engine.crashed", "engine.failed") and data.get("message"):
        update["failure"] = data["message"]
    if kind == "engine.phase":
        update["phase"] = data.get("phase")
    if kind == "membership.changed":
        update["discovery"] = data.get("discovery")
    return update


def _ordinal(name: str) -> tuple[str, int]:
    kind, _, n = name.rpartition("-")
    return (kind, int(n)) if n.isdigit() else (name, 0)


def lag(row: dict) -> int | None:
    lsn, durable = row.get("lsn"), row.get("durable_lsn")
    return lsn - durable if isinstance(lsn, int) and isinstance(durable, int) else None


_SORT_KEYS = {
    "name": lambda r: _ordinal(r["name"]),
    "kind": lambda r: (r.get("kind", ""), _ordinal(r["name"])),
    "state": lambda r: (r.get("state", ""), _ordinal(r["name"])),
    "lag": lambda r: (-(lag(r) or 0), _ordinal(r["name"])),
    "buffered": lambda r: (-(r.get("buffered_bytes") or 0), _ordinal(r["name"])),
    "push age": lambda r: (-((r.get("last_push") or {}).get("at") or 0), _ordinal(r["name"])),
}
