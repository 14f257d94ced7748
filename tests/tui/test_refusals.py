"""A refused action or a vanished emulator never stops the view: the refusal is a
notification, the loss of the emulator a line in the summary."""
from __future__ import annotations

from emulator.api.client import NoEmulator
from emulator.tui.recording import load
from emulator.tui.source import RecordedSource

from .conftest import FEED, loaded


async def test_a_refused_kill_is_reported_and_the_view_goes_on(recorded_app):
    rec = load(FEED)
    rec["answers"] = {"POST /v1/engines/vector-1/kill": {"status": 409, "error": "vector-1 is not running (stopped)"}}
    app = recorded_app(rec)
    async with app.run_test(size=(150, 36)) as pilot:
        await loaded(pilot)
        await pilot.press("slash", *"vector-1", "enter", "k")
        await pilot.pause()
        await pilot.press("y")
        for _ in range(100):
            if app.outcomes:
                break
            await pilot.pause(0.02)
        assert app.outcomes == [(False, "kill vector-1: vector-1 is not running (stopped)")]
        assert app.source.sent == [("POST", "/v1/engines/vector-1/kill", None)]
        await pilot.press("down", "r")  # still steering
        for _ in range(100):
            if len(app.outcomes) == 2:
                break
            await pilot.pause(0.02)
        assert app.outcomes[1][0] is True


class Vanished(RecordedSource):
    """A feed whose emulator went away after its history: every view now fails."""

    async def get(self, path):
        raise NoEmulator("the emulator at http://127.0.0.1:1 does not answer (connection refused)")


async def test_a_vanished_emulator_shows_in_the_summary(recorded_app):
    rec = load(FEED)
    from emulator.tui.app import FleetApp
    app = FleetApp(Vanished(rec), clock=lambda: rec["now"], live=False)
    async with app.run_test(size=(150, 36)) as pilot:
        for _ in range(100):
            if app.banner:
                break
            await pilot.pause(0.02)
        assert "disconnected" in app.banner and "connection refused" in app.banner
        await pilot.press("2", "1")  # screens still switch
        assert app.screen.__class__.__name__ == "FleetScreen"


async def test_every_way_to_quit_asks_when_the_view_runs_the_emulator(recorded_app):
    """`q`, ctrl+c and the command palette's Quit all ask (stop / keep running / stay);
    esc stays, and the view goes on steering."""
    from emulator.tui.dialogs import QuitEmbedded
    app = recorded_app()
    app.embedded = True
    async with app.run_test(size=(150, 36)) as pilot:
        await loaded(pilot)
        for ask in (lambda: pilot.press("q"), lambda: pilot.press("ctrl+c"), app.action_quit):
            await ask()
            await pilot.pause()
            assert isinstance(app.screen, QuitEmbedded)
            await pilot.press("escape")
            await pilot.pause()
            assert not isinstance(app.screen, QuitEmbedded) and app.is_running
        await pilot.press("q", "n")
        await pilot.pause()
    assert app.return_value == "keep"


async def test_a_filter_typed_fast_after_the_slash_goes_to_the_filter_not_to_the_keys(recorded_app):
    """`c` is also "clear faults": typed right after `/` it must be a letter of the filter."""
    app = recorded_app()
    async with app.run_test(size=(150, 36)) as pilot:
        await loaded(pilot)
        await pilot.press("slash", *"vec", "enter")  # no pause between the keys
        await pilot.pause()
        assert app.screen.filter_text == "vec" and app.source.sent == []
        assert app.screen.table.order == ["vector-1", "vector-2"]
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen.filter_text == "" and len(app.screen.table.order) == 4
