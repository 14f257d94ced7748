"""Regenerates tests/tui/feed.json, the recorded feed the snapshot tests render:
a real `up` (discovery on, a workload, a recycle, a fault), recorded through the
control API, and docs/tui-fleet.svg, the fleet view over it. Run by hand:
.venv/bin/python -m tests.tui.record_feed [--screenshot-only]
(then `./run-tests tests/tui --snapshot-update` and look at the new pictures)."""
from __future__ import annotations

import asyncio
import json
import sys
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
SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "tui-fleet.svg"


async def _record(control: str) -> dict:
    source = LiveSource(control)
    try:
        return await record(source, 1.0, engines=("relational-1", "vector-1"))
    finally:
        await source.close()


async def _screenshot() -> None:
    """The fleet view over the recorded feed, as the docs and the README show it."""
    from emulator.tui.app import FleetApp
    from emulator.tui.recording import load
    from emulator.tui.source import RecordedSource
    from tests.tui.conftest import loaded
    rec = load(FEED)
    app = FleetApp(RecordedSource(rec), clock=lambda: rec["now"], live=False)
    async with app.run_test(size=(150, 20)) as pilot:
        await loaded(pilot)
        await pilot.press("down")
        await pilot.pause()
        app.save_screenshot(SCREENSHOT.name, str(SCREENSHOT.parent))
    print(f"wrote {SCREENSHOT.name}")


def main() -> None:
    if "--screenshot-only" in sys.argv:
        asyncio.run(_screenshot())
        return
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
    asyncio.run(_screenshot())


if __name__ == "__main__":
    main()
