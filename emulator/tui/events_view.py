"""The live event log, with a filter (`/`): kind, subject or data containing the text."""
from __future__ import annotations

import time

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Input, RichLog

from .dialogs import Field


def event_line(event: dict) -> str:
    """'12:01:02 engine.pushed      vector-1      snapshot=delta status=200' (pure; UTC)."""
    stamp = time.strftime("%H:%M:%S", time.gmtime(event.get("at") or 0))
    data = event.get("data") or {}
    details = " ".join(f"{k}={v}" for k, v in data.items() if v not in (None, "", [], {}))
    return f"{stamp} {event.get('kind', ''):<18} {event.get('subject', ''):<14} {details}"[:240]


def matches(line: str, text: str) -> bool:
    return not text or text.lower() in line.lower()


class EventsScreen(Screen):
    BINDINGS = [Binding("slash", "filter", "filter"), Binding("escape", "unfilter", "clear filter")]

    def compose(self) -> ComposeResult:
        yield Field(placeholder="filter events (kind, engine, data)", id="event-filter")
        yield RichLog(max_lines=2000, wrap=False, id="events")
        yield Footer()

    def on_mount(self) -> None:
        self.filter_text, self._written = "", 0
        self.query_one("#event-filter").display = False
        self.refill()

    def refill(self) -> None:
        log = self.query_one(RichLog)
        log.clear()
        for line in self.app.event_lines:
            if matches(line, self.filter_text):
                log.write(line)
        self._written = self.app.events_seen
        # Lines written before the screen's first layout scroll to an end that layout then
        # moves (the hidden filter row): scroll again once laid out, so the newest event shows.
        self.call_after_refresh(log.scroll_end, animate=False)

    def refresh_feed(self) -> None:
        app, log = self.app, self.query_one(RichLog)
        new = app.events_seen - self._written
        if new <= 0:
            return
        for line in list(app.event_lines)[-min(new, len(app.event_lines)):]:
            if matches(line, self.filter_text):
                log.write(line)
        self._written = app.events_seen

    def action_filter(self) -> None:
        box = self.query_one("#event-filter", Input)
        box.display = True
        box.focus()

    def action_unfilter(self) -> None:
        box = self.query_one("#event-filter", Input)
        box.value, box.display, self.filter_text = "", False, ""
        self.refill()

    def on_input_changed(self, event: Input.Changed) -> None:
        self.filter_text = event.value.strip()
        self.refill()
