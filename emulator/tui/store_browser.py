"""The store browser: tenant -> engine -> instance, with objects, bytes, fulls and
deltas, head cursor, age and takeover claims; the selected node's data below."""
from __future__ import annotations

import json

from textual import work
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
                    e.add(instance_label(instance, node, now), allow_expand=True,
                          data={"tenant": tenant, "engine": engine, "instance": instance, **node})

    def on_tree_node_highlighted(self, event: Tree.NodeHighlighted) -> None:
        data = event.node.data
        self.query_one("#store-selected", Static).update(
            json.dumps(data, indent=1, default=str) if data else "")

    def on_tree_node_expanded(self, event: Tree.NodeExpanded) -> None:
        data = event.node.data
        if data and "instance" in data and not event.node.children:
            self.load_objects(event.node)

    @work(group="store-objects")
    async def load_objects(self, node) -> None:
        """The instance's objects, fetched when it is opened (enter)."""
        from urllib.parse import urlencode
        from emulator.api.client import ControlError, NoEmulator
        d = node.data
        query = urlencode({"tenant": d["tenant"], "engine": d["engine"], "instance": d["instance"]})
        try:
            answer = await self.app.source.get(f"/v1/store/objects?{query}")
        except (ControlError, NoEmulator) as exc:
            self.app.notify(f"store objects: {exc}", severity="error")
            return
        now = self.app.now()
        for obj in answer.get("objects") or []:
            node.add_leaf(object_label(obj, now), data=obj)


def object_label(obj: dict, now: float) -> str:
    """'delta  wkc_0000_0010 -> wkc_0000_0020  1.2 KiB  zstd  4s ago' (pure)."""
    span = f"{obj.get('cursor_from')} -> {obj.get('cursor_to')}" if obj.get("cursor_from") \
        else str(obj.get("cursor_to") or obj.get("key"))
    part = f"  part {obj['part'][0]}/{obj['part'][1]}" if obj.get("part") else ""
    stored = obj.get("stored_at")
    return (f"{obj.get('kind', '?'):<5}  {span}  {size(obj.get('size'))}  {obj.get('encoding') or ''}"
            f"{part}  {age(now - stored) if stored else '-'} ago")
