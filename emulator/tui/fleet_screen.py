"""The fleet screen: the summary line, the fleet table, the filter.

The filter is typed in place (k9s-like): `/` turns the summary line into a prompt
and the keys typed go to it until enter (keep it) or esc (clear it). Nothing moves
focus or changes the layout, so a letter costs the new order (the model's cache)
and the lines on screen, not a new layout of the screen."""
from __future__ import annotations

from rich.markup import escape
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Static

from .fleet_table import FleetTable
from .format import summary_line
from .model import SORTS


class FleetScreen(Screen):
    BINDINGS = [
        Binding("enter", "detail", "detail"), Binding("l", "logs", "logs"),
        Binding("r", "app.recycle", "recycle"), Binding("R", "app.rolling", "rolling"),
        Binding("s", "app.scale", "scale"), Binding("k", "app.kill", "kill"),
        Binding("t", "app.restart", "restart"), Binding("f", "app.fault", "fault"),
        Binding("c", "app.clear_faults", "clear"), Binding("w", "app.workload", "workload"),
        Binding("x", "app.reset_store", "reset store", show=False),
        Binding("space", "mark", "mark", show=False), Binding("slash", "filter", "filter"),
        Binding("o", "sort", "sort", show=False), Binding("escape", "unfilter", "clear filter", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.filter_text, self.sort, self.marked = "", "name", set()
        self.typing = False  # the filter prompt has the keys
        self._summary: tuple = ()

    def compose(self) -> ComposeResult:
        yield Static("connecting…", id="summary")
        header = Static("", id="fleet-header")
        yield header
        yield FleetTable(header, id="fleet")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(FleetTable).focus()
        self.refresh_feed()

    @property
    def table(self) -> FleetTable:
        return self.query_one("#fleet", FleetTable)

    def refresh_feed(self) -> None:
        app = self.app
        names = app.model.names(self.filter_text, self.sort)
        self.table.show(app.model, names, app.now(), self.marked)
        if self.typing:
            self._summary = ()  # drawn again when the prompt closes
            text = (f"filter by name, kind or state: [reverse]/{escape(self.filter_text)}▏[/reverse]  "
                    f"{len(names)} of {len(app.model.rows)} · enter keeps it, esc clears it")
        else:
            key = (app.model.generation, app.views.get("/health"), app.banner, self.sort,
                   self.filter_text, len(self.marked))
            if key == self._summary:
                return
            self._summary = key
            label = f"sort {self.sort}" + (f" · filter '{escape(self.filter_text)}'" if self.filter_text else "")
            marks = f" · {len(self.marked)} marked" if self.marked else ""
            text = f"{summary_line(app.model.rows, app.views.get('/health'))} · {label}{marks}{app.banner}"
        self.query_one("#summary", Static).update(text)

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
        self.typing = True
        self.refresh_feed()

    def action_unfilter(self) -> None:
        self.typing, self.filter_text = False, ""
        self.refresh_feed()

    def on_key(self, event: events.Key) -> None:
        """While the filter prompt is open, the keys it takes do not reach the bindings;
        the arrows and page keys still move through the rows it shows."""
        if not self.typing:
            if event.key == "slash":  # here, not only as a binding: keys typed right after it
                self.typing = True      # arrive before a binding's action would run
                event.stop()
                event.prevent_default()
                self.refresh_feed()
            return
        if event.key == "enter":
            self.typing = False
        elif event.key == "escape":
            self.typing, self.filter_text = False, ""
        elif event.key == "backspace":
            self.filter_text = self.filter_text[:-1]
        elif event.key == "ctrl+u":
            self.filter_text = ""
        elif event.is_printable and event.character:
            self.filter_text += event.character
        else:
            return
        event.stop()
        event.prevent_default()
        self.refresh_feed()

    def on_paste(self, event: events.Paste) -> None:
        if self.typing:
            self.filter_text += "".join(c for c in event.text if c.isprintable())
            event.stop()
            self.refresh_feed()
