"""The fleet screen: the summary line, the fleet table, the filter."""
from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Input, Static

from .dialogs import Field

from .fleet_table import FleetTable
from .format import summary_line
from .model import SORTS


class FleetScreen(Screen):
    BINDINGS = [
        Binding("enter", "detail", "detail"), Binding("l", "logs", "logs"),
        Binding("r", "app.recycle", "recycle"), Binding("R", "app.rolling", "rolling"),
        Binding("s", "app.scale", "scale"), Binding("k", "app.kill", "kill -9"),
        Binding("t", "app.restart", "restart"), Binding("f", "app.fault", "fault"),
        Binding("c", "app.clear_faults", "clear faults"), Binding("w", "app.workload", "workload"),
        Binding("x", "app.reset_store", "reset store", show=False),
        Binding("space", "mark", "mark", show=False), Binding("slash", "filter", "filter"),
        Binding("o", "sort", "sort", show=False), Binding("escape", "unfilter", "clear filter", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.filter_text, self.sort, self.marked = "", "name", set()

    def compose(self) -> ComposeResult:
        yield Static("connecting…", id="summary")
        yield Field(placeholder="filter by name, kind or state (enter applies, esc clears)", id="filter")
        header = Static("", id="fleet-header")
        yield header
        yield FleetTable(header, id="fleet")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#filter").display = False
        self.query_one(FleetTable).focus()
        self.refresh_feed()

    @property
    def table(self) -> FleetTable:
        return self.query_one(FleetTable)

    def refresh_feed(self) -> None:
        app = self.app
        names = app.model.names(self.filter_text, self.sort)
        self.table.show(app.model, names, app.now(), self.marked)
        label = f"sort {self.sort}" + (f" · filter '{self.filter_text}'" if self.filter_text else "")
        marks = f" · {len(self.marked)} marked" if self.marked else ""
        self.query_one("#summary", Static).update(
            f"{summary_line(app.model.rows, app.views.get('/health'))} · {label}{marks}{app.banner}")

    def targets(self) -> list[str]:
        """The engines an action applies to: the marked rows, else the one under the cursor."""
        if self.marked:
            return sorted(self.marked & set(self.app.model.rows))
        return [self.table.selected] if self.table.selected else []

    def action_detail(self) -> None:
        if self.table.selected:
            from .detail import DetailScreen
            self.app.push_screen(DetailScreen(self.table.selected))

    def action_logs(self) -> None:
        if self.table.selected:
            from .log_view import LogScreen
            self.app.push_screen(LogScreen(self.table.selected))

    def action_mark(self) -> None:
        name = self.table.selected
        if name:
            self.marked ^= {name}
            self.refresh_feed()

    def action_sort(self) -> None:
        self.sort = SORTS[(SORTS.index(self.sort) + 1) % len(SORTS)]
        self.refresh_feed()

    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.display = True
        box.focus()

    def action_unfilter(self) -> None:
        box = self.query_one("#filter", Input)
        box.value, box.display, self.filter_text = "", False, ""
        self.table.focus()
        self.refresh_feed()

    def on_input_changed(self, event: Input.Changed) -> None:
        self.filter_text = event.value.strip()
        self.refresh_feed()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.table.focus()
