"""Engine detail (enter on a row): its whole /status, the last boot's recovery report,
recent alerts, the ledger tail, and sparklines of its push sizes."""
from __future__ import annotations

import json

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Label, Sparkline, Static

from .format import age, size


def ledger_lines(entries: list[dict], now: float, limit: int = 30) -> list[str]:
    """One line per ledger entry, newest last (pure)."""
    out = []
    for e in entries[-limit:]:
        at = e.get("at")
        when = age(now - at) if isinstance(at, (int, float)) else "-"
        rest = " ".join(f"{k}={v}" for k, v in e.items() if k not in ("at", "event") and v not in (None, ""))
        out.append(f"{when:>4} {e.get('event', e.get('w') and 'write' or '?'):<8} {rest}"[:160])
    return out


def push_series(entries: list[dict]) -> list[float]:
    """Bytes of each acknowledged push in the ledger (for the sparkline)."""
    return [float(e.get("bytes") or 0) for e in entries if e.get("event") == "ack"]


class DetailScreen(Screen):
    BINDINGS = [Binding("escape,q", "app.pop_screen", "back"), Binding("l", "logs", "logs"),
                Binding("r", "recycle", "recycle"), Binding("g", "reload", "reload")]

    def __init__(self, name: str) -> None:
        super().__init__()
        self.engine = name

    def compose(self) -> ComposeResult:
        yield Label(f"[b]{self.engine}[/b]", id="detail-title")
        with Horizontal(id="detail-sparks"):
            yield Label("push bytes ")
            yield Sparkline([], id="push-bytes")
        with VerticalScroll():
            yield Static("loading…", id="detail-status")
            yield Static("", id="detail-ledger")
        yield Footer()

    def on_mount(self) -> None:
        self.action_reload()

    def refresh_feed(self) -> None:
        pushes = list(self.app.model.pushes.get(self.engine, ()))
        if pushes:
            self.query_one("#push-bytes", Sparkline).data = pushes

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
        series = push_series(entries)
        if series:
            self.query_one("#push-bytes", Sparkline).data = series
        total = sum(series)
        self.query_one("#detail-ledger", Static).update(
            f"[b]ledger tail[/b] ({len(series)} acknowledged pushes, {size(total)})\n"
            + "\n".join(ledger_lines(entries, self.app.now())))

    def action_logs(self) -> None:
        from .log_view import LogScreen
        self.app.push_screen(LogScreen(self.engine))

    def action_recycle(self) -> None:
        self.app.recycle_engines([self.engine])
