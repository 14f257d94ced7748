"""The store browser: tenant -> engine -> instance, with objects, bytes, fulls and
deltas, head cursor, age and takeover claims; the selected node's data below."""
from __future__ import annotations

import json

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Label, Static, Tree

from .format import age, size


def instance_label(instance: str, node: dict, now: float) -> str:
    """'vector-1  3 full + 12 delta, 1.2 MiB, head 1:...:42, 4s ago, claimed' (pure)."""
    stored = node.get("last_stored_at")
    parts = [f"{node.get('fulls', 0)} full + {node.get('deltas', 0)} delta", size(node.get("bytes")),
             f"head {node.get('head') or '-'}", f"{age(now - stored) if stored else '-'} ago"]
    if node.get("claimed"):
        parts.append("[yellow]claimed[/yellow]")
    return f"{instance}  " + ", ".join(parts)


class StoreScreen(Screen):
    BINDINGS = [Binding("x", "app.reset_store", "reset store")]

    def compose(self) -> ComposeResult:
        yield Label("[b]store[/b]", id="store-title")
        yield Tree("store", id="store-tree")
        yield Static("", id="store-selected")
        yield Footer()

    def on_mount(self) -> None:
        self._shown = None
        self.refresh_feed()

    def refresh_feed(self) -> None:
        view = self.app.views.get("/v1/store")
        if not view or view == self._shown:
            return
        self._shown = view
        self.query_one("#store-title", Label).update(
            f"[b]store[/b]: {view.get('objects', 0)} objects, {size(view.get('bytes'))}")
        tree = self.query_one(Tree)
        tree.clear()
        tree.root.expand()
        now = self.app.now()
        for tenant, engines in sorted((view.get("tenants") or {}).items()):
            t = tree.root.add(f"tenant {tenant}", expand=True)
            for engine, instances in sorted(engines.items()):
                e = t.add(engine, expand=True)
                for instance, node in sorted(instances.items()):
                    e.add_leaf(instance_label(instance, node, now), data={"instance": instance, **node})

    def on_tree_node_highlighted(self, event: Tree.NodeHighlighted) -> None:
        data = event.node.data
        self.query_one("#store-selected", Static).update(
            json.dumps(data, indent=1, default=str) if data else "")
