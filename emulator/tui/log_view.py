"""An engine's log, following (like `wkp-emu logs ENGINE -f`)."""
from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Label, RichLog


class LogScreen(Screen):
    BINDINGS = [Binding("escape,q", "app.pop_screen", "back")]

    def __init__(self, name: str) -> None:
        super().__init__()
        self.engine = name

    def compose(self) -> ComposeResult:
        yield Label(f"[b]log of {self.engine}[/b] (following)")
        yield RichLog(max_lines=5000, wrap=False, id="log")
        yield Footer()

    def on_mount(self) -> None:
        self.follow()

    @work(exclusive=True, group="log")
    async def follow(self) -> None:
        from emulator.api.client import ControlError, NoEmulator
        log = self.query_one(RichLog)
        partial = ""
        try:
            async for chunk in self.app.source.lines(f"/v1/engines/{self.engine}/logs?follow=1"):
                *lines, partial = (partial + chunk).split("\n")
                for line in lines:
                    log.write(line)
        except (ControlError, NoEmulator) as exc:
            log.write(f"[log ended: {exc}]")
