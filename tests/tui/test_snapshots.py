"""Every screen at fixed sizes, rendered from a recorded feed (tests/tui/feed.json),
compared with its accepted SVG (tests/tui/__snapshots__/). After a deliberate
change: ./run-tests tests/tui --snapshot-update, then look at the pictures."""
from __future__ import annotations

import pytest

from .conftest import loaded

WIDE, NARROW = (150, 36), (100, 28)




@pytest.mark.parametrize("size", [WIDE, NARROW], ids=["150x36", "100x28"])
def test_fleet(snap_compare, recorded_app, size):
    assert snap_compare(recorded_app(), terminal_size=size, run_before=_run(()))


@pytest.mark.parametrize("name,keys", [
    ("function", ("2",)), ("store", ("3",)), ("store_objects", ("3", "down", "down", "down", "enter")), ("discovery", ("4",)), ("events", ("5",)),
    ("detail", ("down", "enter")), ("help", ("question_mark",)), ("fault_dialog", ("f",)),
    ("scale_dialog", ("down", "s")), ("filtered_sorted", ("slash", "v", "e", "c", "enter", "o", "o")),
    ("marked", ("down", "space", "down", "space")), ("log", ("down", "l")),
    ("kill_confirm", ("down", "space", "down", "space", "k")), ("reset_confirm", ("x",)),
    ("workload_dialog", ("down", "w")), ("filter_prompt", ("slash", "v", "e", "c")),
])
def test_screen(snap_compare, recorded_app, name, keys):
    assert snap_compare(recorded_app(), terminal_size=WIDE, run_before=_run(keys))


def test_quit_asks_when_the_view_runs_the_emulator(snap_compare, recorded_app):
    app = recorded_app()
    app.embedded = True  # as `wkp-emu up` opens it
    assert snap_compare(app, terminal_size=WIDE, run_before=_run(("q",)))


def _run(keys):
    async def run_before(pilot):
        await loaded(pilot)
        for key in keys:
            await pilot.press(key)
            await pilot.pause()
        await loaded(pilot)
        if keys[:1] == ("3",) and "enter" in keys:  # the opened instance fetches its objects
            from textual.widgets import Tree
            tree = pilot.app.screen.query_one(Tree)
            for _ in range(100):
                if any("cursor_to" in (n.data or {}) for n in tree._tree_nodes.values()):
                    break
                await pilot.pause(0.02)
            await pilot.press("down")
            await pilot.pause()
        if keys == ("down", "enter"):  # the detail screen fetches its views
            for _ in range(100):
                if "loading" not in str(pilot.app.screen.query_one("#detail-status").render()):
                    break
                await pilot.pause(0.02)
        if keys[-1:] in (("l",), ("5",)):  # the log and event screens write their RichLog once it has a size
            from textual.widgets import RichLog
            log = pilot.app.screen.query_one(RichLog)
            # Every line written (the events screen: one per event the app kept) and the log
            # scrolled to its end: a picture taken a frame earlier shows it one line short.
            want = len(pilot.app.event_lines) if keys[-1:] == ("5",) else 1
            for _ in range(200):
                if len(log.lines) >= want and log.scroll_y >= log.max_scroll_y:
                    break
                await pilot.pause(0.02)
            await pilot.pause()
    return run_before
