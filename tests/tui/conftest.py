from __future__ import annotations

from pathlib import Path

import pytest

from emulator.tui.app import FleetApp
from emulator.tui.recording import load
from emulator.tui.source import RecordedSource

FEED = Path(__file__).with_name("feed.json")


@pytest.fixture
def recorded_app():
    """A fleet view over the recorded feed, its clock stopped at the recording's end."""
    def make(recording: dict | None = None) -> FleetApp:
        rec = recording or load(FEED)
        return FleetApp(RecordedSource(rec), clock=lambda: rec["now"], live=False)
    return make


async def loaded(pilot) -> None:
    """Wait until the recorded views are in (events first, then views: a fixed order)."""
    app = pilot.app
    for _ in range(200):
        if "/v1/discovery" in app.views and "/v1/store" in app.views:
            break
        await pilot.pause(0.02)
    await pilot.pause()
