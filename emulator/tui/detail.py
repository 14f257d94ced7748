"""Engine detail (enter on a row): its whole /status, the last boot's recovery report,
recent alerts, the ledger tail, and sparklines of its push sizes and latencies.

The sparklines start from the ledger's acknowledged pushes (`ack` entries carry
`bytes` and `took_s`, cut to acknowledgement with retries included) and go on
with each push the fleet poll reports after them (the engine's `last_push`)."""
from __future__ import annotations

import json

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Label, Sparkline, Static

from .format import age, millis, size
from .model import HISTORY, PushPoint


def ledger_lines(entries: list[dict], now: float, limit: int = 30) -> list[str]:
    """One line per ledger entry, newest last (pure)."""
    out = []
    for e in entries[-limit:]:
        at = e.get("at")
        when = age(now - at) if isinstance(at, (int, float)) else "-"
        rest = " ".join(f"{k}={v}" for k, v in e.items() if k not in ("at", "event") and v not in (None, ""))
        out.append(f"{when:>4} {e.get('event', e.get('w') and 'write' or '?'):<8} {rest}"[:160])
    return out


def push_points(entries: list[dict]) -> list[PushPoint]:
    """The acknowledged pushes in a ledger tail, oldest first (pure)."""
    return [PushPoint(e.get("at") or 0.0, e.get("bytes") or 0, e.get("took_s"))
            for e in entries if e.get("event") == "ack"]


def push_series(entries: list[dict]) -> list[float]:
    """Bytes of each acknowledged push in the ledger (for the sparkline)."""
    return [float(p.bytes) for p in push_points(entries)]


def merged(history: list[PushPoint], live) -> list[PushPoint]:
    """The ledger's pushes, then the ones the poll saw after the last of them (pure)."""
    last = history[-1].at if history else float("-inf")
    return (list(history) + [p for p in live if p.at > last])[-HISTORY:]


def spark_labels(points: list[PushPoint]) -> tuple[str, str]:
    """What the two sparklines are labelled with: last and largest size; last,
    median and slowest latency (pure)."""
    if not points:
        return "no acknowledged push yet", "no acknowledged push yet"
    sizes = [p.bytes for p in points]
    took = sorted(p.took_s for p in points if isinstance(p.took_s, (int, float)))
    size_text = f"last {size(sizes[-1])} · max {size(max(sizes))} · {len(points)} pushes"
    last_took = points[-1].took_s
    took_text = (f"last {millis(last_took) if isinstance(last_took, (int, float)) else '-'} · "
                 f"p50 {millis(took[len(took) // 2])} · max {millis(took[-1])}") if took else "not reported"
    return size_text, took_text


class DetailScreen(Screen):
    BINDINGS = [Binding("escape,q", "app.pop_screen", "back"), Binding("l", "logs", "logs"),
                Binding("r", "recycle", "recycle"), Binding("g", "reload", "reload")]

    def __init__(self, name: str) -> None:
        super().__init__()
        self.engine = name

    def compose(self) -> ComposeResult:
        yield Label(f"[b]{self.engine}[/b]", id="detail-title")
        with Horizontal(classes="spark-row"):
            yield Label("push bytes   ")
            yield Sparkline([], id="push-bytes")
            yield Label("", id="push-bytes-label", classes="spark-label")
        with Horizontal(classes="spark-row"):
            yield Label("push latency ")
            yield Sparkline([], id="push-latency")
            yield Label("", id="push-latency-label", classes="spark-label")
        with VerticalScroll():
            yield Static("loading…", id="detail-status")
            yield Static("", id="detail-ledger")
        yield Footer()

    def on_mount(self) -> None:
        self.history: list[PushPoint] = []  # from the ledger
        self._drawn: list[PushPoint] | None = None
        self.action_reload()

    def refresh_feed(self) -> None:
        self._draw(merged(self.history, self.app.model.pushes.get(self.engine, ())))

    def _draw(self, points: list[PushPoint]) -> None:
        if points == self._drawn:
            return
        self._drawn = points
        self.query_one("#push-bytes", Sparkline).data = [float(p.bytes) for p in points]
        self.query_one("#push-latency", Sparkline).data = [
            p.took_s * 1000 if isinstance(p.took_s, (int, float)) else 0.0 for p in points]
        sizes, took = spark_labels(points)
        self.query_one("#push-bytes-label", Label).update(sizes)
        self.query_one("#push-latency-label", Label).update(took)

    @work(exclusive=True, group="detail")
    async def action_reload(self) -> None:
        from emulator.api.client import ControlError, NoEmulator
        src = self.app.source
        try:
            status = await src.get(f"/v1/engines/{self.engine}/status")
        except (ControlError, NoEmulator) as exc:
            self.query_one("#detail-status", Static).update(f"[red]{exc}[/red]")
            return
        s = status.get("status") or {}
        alerts = s.get("recent_alerts") or []
        text = (f"state {status.get('state')}  ·  {len(alerts)} recent alerts\n"
                f"[b]recovery (last boot)[/b]\n{json.dumps(s.get('recovery'), indent=1, default=str)}\n"
                f"[b]alerts[/b]\n" + ("\n".join(f"{a.get('kind')}: {a.get('message')}" for a in alerts) or "none")
                + f"\n[b]/status[/b]\n{json.dumps({k: v for k, v in s.items() if k not in ('recovery', 'recent_alerts')}, indent=1, default=str)}")
        self.query_one("#detail-status", Static).update(text)
        try:
            ledger = await src.get(f"/v1/engines/{self.engine}/ledger?tail=200")
        except (ControlError, NoEmulator) as exc:
            self.query_one("#detail-ledger", Static).update(f"[b]ledger[/b]\n[red]{exc}[/red]")
            return
        entries = ledger.get("entries") or []
        self.history = push_points(entries)
        self.refresh_feed()
        self.query_one("#detail-ledger", Static).update(
            f"[b]ledger tail[/b] ({len(self.history)} acknowledged pushes, "
            f"{size(sum(p.bytes for p in self.history))})\n"
            + "\n".join(ledger_lines(entries, self.app.now())))

    def action_logs(self) -> None:
        from .log_view import LogScreen
        self.app.push_screen(LogScreen(self.engine))

    def action_recycle(self) -> None:
        self.app.recycle_engines([self.engine])
