"""The function: requests per second by endpoint and status, p50/p99 latency, bytes
in/out, with sparklines; its instances (cold starts, warm hits) and platform profile;
the faults in force."""
from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Label, Sparkline, Static

from .format import fault_lines, histogram, instance_lines, millis, quantile, size

ENDPOINTS = ("/persist", "/restore", "/health")


def function_rows(snapshot: dict, rates: dict, metrics_text: str) -> list[tuple]:
    """(endpoint, status, req/s, total, p50, p99, bytes in, bytes out) rows (pure)."""
    hist = histogram(metrics_text or "")
    rows = []
    for path, m in sorted((snapshot or {}).items()):
        buckets = hist.get(path, [])
        p50, p99 = millis(quantile(buckets, 0.5)), millis(quantile(buckets, 0.99))
        for status, n in sorted((m.get("requests") or {}).items()):
            rows.append((path, str(status), f"{rates.get((path, status), 0.0):.1f}", str(n), p50, p99,
                         size(m.get("bytes_in")), size(m.get("bytes_out"))))
    return rows


class FunctionScreen(Screen):
    BINDINGS = [Binding("f", "app.fault", "fault"), Binding("c", "app.clear_faults", "clear faults")]

    def compose(self) -> ComposeResult:
        yield Label("[b]function[/b]: requests per second, latency, bytes")
        yield DataTable(id="function-table", cursor_type="row")
        with Vertical(id="function-sparks"):
            for path in ENDPOINTS:
                with Horizontal(classes="spark-row"):
                    yield Label(f"{path:<9} req/s ")
                    yield Sparkline([], id=f"spark-{path.strip('/')}")
        yield Label("[b]instances[/b]")
        yield Static("", id="instances")
        yield Label("[b]faults in force[/b]")
        yield Static("", id="faults")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for label in ("ENDPOINT", "STATUS", "REQ/S", "TOTAL", "P50", "P99", "BYTES IN", "BYTES OUT"):
            table.add_column(label, key=label)
        self.refresh_feed()

    def refresh_feed(self) -> None:
        app = self.app
        rows = function_rows(app.views.get("/v1/function") or {}, app.function_rates,
                             app.views.get("/metrics") or "")
        table = self.query_one(DataTable)
        table.clear()
        for row in rows:
            table.add_row(*row)
        for path in ENDPOINTS:
            series = list(app.function_series.get(path, ()))
            if series:
                self.query_one(f"#spark-{path.strip('/')}", Sparkline).data = series
        # plain text: a platform's fit lines are prose, not markup
        self.query_one("#instances", Static).update(
            Text("\n".join(instance_lines(app.views.get("/v1/function") or {}))))
        self.query_one("#faults", Static).update("\n".join(fault_lines(app.views.get("/v1/faults") or {})))
