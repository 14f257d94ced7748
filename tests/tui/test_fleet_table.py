"""The fleet table over a recorded feed, its clock moved by hand: the push ages on
screen follow the clock, and a filter keeps the columns where they were."""
from __future__ import annotations

from emulator.tui.app import FleetApp
from emulator.tui.recording import load
from emulator.tui.source import RecordedSource

from .conftest import FEED, loaded


def line_of(table, name: str) -> str:
    return table.render_line(table.order.index(name) - table.scroll_offset.y).text


async def test_push_ages_follow_the_clock_and_a_filter_keeps_the_columns():
    rec = load(FEED)
    now = [rec["now"]]
    app = FleetApp(RecordedSource(rec), clock=lambda: now[0], live=False)
    async with app.run_test(size=(160, 36)) as pilot:
        await loaded(pilot)
        screen = app.screen
        table = screen.table
        at = app.model.rows["vector-1"]["last_push"]["at"]
        assert f"{int(now[0] - at)}s delta 200" in line_of(table, "vector-1")
        now[0] = at + 125  # two minutes on: the age reads 2m, nothing else changed
        screen.refresh_feed()
        await pilot.pause()
        assert "  2m delta 200" in line_of(table, "vector-1")
        header = app.screen.query_one("#fleet-header").render()
        await pilot.press("slash", *"vector-1", "enter")
        await pilot.pause()
        assert table.order == ["vector-1"] and app.screen.query_one("#fleet-header").render() == header
