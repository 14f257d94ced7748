"""Regenerates tests/tui/feed.json, the recorded feed the snapshot tests render:
a real `up` (discovery on, a workload, a recycle, a fault), recorded through the
control API. Run by hand: .venv/bin/python -m tests.tui.record_feed
(then `./run-tests tests/tui --snapshot-update` and look at the new pictures)."""
from __future__ import annotations

import asyncio
import json
import tempfile
import time
from pathlib import Path

from emulator.tui.recording import anonymized, record
from emulator.tui.source import LiveSource
from tests.support.emulator import FAST, start_emulator

CONFIG = FAST.replace("[discovery]\nenabled = false\n", "[discovery]\nudp_port = 0\napi_port = 0\n") + """
[workload.relational]
rate = 5
[workload.vector]
rate = 2
"""
FEED = Path(__file__).with_name("feed.json")


async def _record(control: str) -> dict:
    source = LiveSource(control)
    try:
        return await record(source, 1.0, engines=("relational-1", "vector-1"))
    finally:
        await source.close()


def main() -> None:
    tmp = Path(tempfile.mkdtemp())
    emu = start_emulator(tmp, CONFIG)
    try:
        time.sleep(6)
        emu.control.post("/v1/engines/vector-2/recycle")
        emu.control.post("/v1/faults", {"target": "function", "kind": "latency", "ms": 50, "count": 1000})
        time.sleep(6)
        rec = asyncio.run(_record(emu.ready["control"]))
    finally:
        emu.stop()
    FEED.write_text(json.dumps(anonymized(rec, str(emu.state_dir.resolve())), indent=1, sort_keys=True))
    print(f"wrote {FEED.name}: {len(rec['events'])} events")


if __name__ == "__main__":
    main()
