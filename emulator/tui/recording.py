"""Recorded feeds: what the control API answered (its views and events) at one moment,
saved as JSON, so that snapshot tests and benchmarks render the same thing every
time, without an emulator. `scaled` grows a recording to many engines."""
from __future__ import annotations

import asyncio
import copy
import json
from pathlib import Path

VIEWS = ("/health", "/v1/fleet", "/v1/function", "/metrics", "/v1/faults", "/v1/store",
         "/v1/discovery")


async def record(source, seconds: float = 2.0, engines: tuple[str, ...] = ()) -> dict:
    """Views, the events seen within `seconds`, and each named engine's status, ledger and log."""
    events: list[dict] = []

    async def collect():
        async for event in source.events(0):
            events.append(event)
    task = asyncio.create_task(collect())
    await asyncio.sleep(seconds)
    task.cancel()
    views = {}
    for path in VIEWS:
        views[path] = await (source.text(path) if path == "/metrics" else source.get(path))
    from urllib.parse import urlencode
    for tenant, kinds in (views["/v1/store"].get("tenants") or {}).items():
        for engine, instances in kinds.items():
            for instance in instances:
                path = "/v1/store/objects?" + urlencode({"tenant": tenant, "engine": engine,
                                                         "instance": instance})
                views[path] = await source.get(path)
    logs = {}
    for name in engines:
        views[f"/v1/engines/{name}/status"] = await source.get(f"/v1/engines/{name}/status")
        views[f"/v1/engines/{name}/ledger?tail=200"] = await source.get(f"/v1/engines/{name}/ledger?tail=200")
        logs[name] = await source.text(f"/v1/engines/{name}/logs")
    last = max([e.get("at") or 0 for e in events] + [0])
    return {"now": last + 1.0, "views": views, "events": events, "logs": logs}


def anonymized(recording: dict, state_dir: str) -> dict:
    """The recording with the state dir's path spelled `.wkp-emu`, so it names no machine."""
    text = json.dumps(recording).replace(str(state_dir), ".wkp-emu")
    return json.loads(text)


def load(path: str | Path) -> dict:
    return json.loads(Path(path).read_text())


def scaled(recording: dict, engines: int) -> dict:
    """The recording with its fleet grown to `engines` rows (copies of its engines,
    renamed kind-N), for benchmarks of a large fleet."""
    out = copy.deepcopy(recording)
    base = out["views"]["/v1/fleet"]["engines"]
    rows = []
    for i in range(engines):
        row = dict(base[i % len(base)])
        row["name"] = f"{row['kind']}-{i + 1}"
        row["instance_id"] = row["name"]
        row["port"] = 40000 + i
        rows.append(row)
    out["views"]["/v1/fleet"] = {"engines": rows}
    return out
