"""Discovery: members (alive / suspect / failed / left), incarnation, groups, and
the load-balancer view (each group's healthy endpoints)."""
from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Label, Static

from .format import MEMBER_STYLE, dash


def balancer_view(members: list[dict]) -> dict[str, list[str]]:
    """{group: sorted endpoints of its alive members}, as a load balancer routes (pure)."""
    out: dict[str, set] = {}
    for m in members:
        for group in m.get("groups") or ():
            out.setdefault(group, set())
            if m.get("status") == "alive" and m.get("endpoint"):
                out[group].add(m["endpoint"])
    return {g: sorted(e) for g, e in sorted(out.items())}


class DiscoveryScreen(Screen):
    def compose(self) -> ComposeResult:
        yield Label("[b]discovery[/b]: members", id="discovery-title")
        yield DataTable(id="members", cursor_type="row")
        yield Label("[b]load balancer[/b]: healthy endpoints per group")
        yield Static("", id="balancer")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for label in ("NODE", "STATUS", "INCARNATION", "TYPE", "GROUPS", "ENDPOINT", "LAST SEEN"):
            table.add_column(label, key=label)
        self._shown = None
        self.refresh_feed()

    def refresh_feed(self) -> None:
        view = self.app.views.get("/v1/discovery")
        if view is None or view == self._shown:
            return
        self._shown = view
        members = view.get("members") or []
        if view.get("enabled") is False:
            self.query_one("#discovery-title", Label).update("[b]discovery[/b]: disabled")
        table = self.query_one(DataTable)
        table.clear()
        for m in sorted(members, key=lambda m: m.get("node_id", "")):
            seen = m.get("last_seen_age_ms")
            table.add_row(dash(m.get("node_id")), Text(dash(m.get("status")), style=MEMBER_STYLE.get(m.get("status"), "")),
                          dash(m.get("incarnation")), dash(m.get("type")), ",".join(m.get("groups") or ()) or "-",
                          dash(m.get("endpoint")), f"{seen / 1000:.1f}s" if isinstance(seen, (int, float)) else "-")
        lines = [f"{g:<14} {', '.join(e) or '(none healthy)'}" for g, e in balancer_view(members).items()]
        self.query_one("#balancer", Static).update("\n".join(lines) or "no groups")
