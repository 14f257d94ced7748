"""The fleet view's app: the feed in (event stream + REST views, in workers that post
messages), the screens, and the actions, each sent to the control API with its
result or error shown as a notification. It owns no emulator logic."""
from __future__ import annotations

import asyncio
import time
from collections import deque

from textual import events, work
from textual.app import App, SystemCommand
from textual.binding import Binding

from emulator.api.client import ControlError, NoEmulator

from .collector import Collector
from .detail import DetailScreen
from .dialogs import Ask, Confirm, FaultDialog, Help, QuitEmbedded, WorkloadDialog
from .discovery_view import DiscoveryScreen
from .events_view import EventsScreen, event_line
from .fleet_screen import FleetScreen
from .format import rates, request_totals
from .function_view import ENDPOINTS, FunctionScreen
from .messages import ActionDone, Connection, FeedEvent, ViewData
from .model import HISTORY, FleetModel
from .store_browser import StoreScreen

# What each screen polls besides /v1/fleet and /health (every second).
SCREEN_VIEWS = {"function": ("/v1/function", "/metrics", "/v1/faults"), "store": ("/v1/store",),
                "discovery": ("/v1/discovery",), "fleet": ("/v1/discovery",)}
KEYS = [("1-5", "fleet, function, store, discovery, events"), ("enter", "engine detail"),
        ("l", "the engine's log, following"), ("r", "recycle (marked rows, else the selected one)"),
        ("R", "rolling recycle of the kind"), ("s", "scale the kind (0 allowed)"),
        ("k", "kill -9 (asks first)"), ("t", "restart on the same volume"),
        ("f", "set a fault"), ("c", "clear faults"), ("w", "write workload (engine or kind)"),
        ("x", "reset the store (asks first)"), ("space", "mark a row for bulk recycle / kill"),
        ("/", "filter: type, enter keeps it, esc clears it"), ("o", "sort"),
        ("g", "reload (engine detail)"), ("esc", "back (detail, log), clear the filter (fleet)"),
        ("ctrl+p", "command palette"), ("?", "this help"), ("q", "quit (embedded: asks whether to stop)")]


class FleetApp(App):
    TITLE = "wkp-emu"
    CSS = """
    .dialog { width: 80; height: auto; max-height: 90%; border: thick $accent; background: $surface; padding: 1 2; }
    .dialog Horizontal { height: auto; }
    Confirm, QuitEmbedded, Ask, FaultDialog, WorkloadDialog, Help { align: center middle; }
    #fault-fields { grid-size: 2; grid-columns: 16 1fr; height: auto; }
    #fault-fields Label { padding: 1 0; }
    #summary { height: 1; background: $boost; }
    #fleet { height: 1fr; }
    #fleet-header { height: 1; }
    Sparkline { height: 1; width: 1fr; }
    .spark-row { height: 1; }
    .spark-label { width: 48; padding-left: 1; }
    #function-sparks { height: auto; }
    #store-tree { height: 2fr; }
    #store-selected { height: 1fr; }
    """
    MODES = {"fleet": FleetScreen, "function": FunctionScreen, "store": StoreScreen,
             "discovery": DiscoveryScreen, "events": EventsScreen}
    # The footer shows the five screen keys as one "1-5 screens", so that `?` and `q` still fit.
    BINDINGS = [Binding("1", "switch_mode('fleet')", "screens", key_display="1-5"),
                Binding("2", "switch_mode('function')", "function", show=False),
                Binding("3", "switch_mode('store')", "store", show=False),
                Binding("4", "switch_mode('discovery')", "discovery", show=False),
                Binding("5", "switch_mode('events')", "events", show=False), Binding("question_mark", "help", "help"),
                Binding("q", "quit_view", "quit"), Binding("ctrl+c", "quit_view", "quit", show=False)]

    def __init__(self, source, *, embedded: bool = False, clock=time.time, poll_s: float = 1.0,
                 live: bool = True) -> None:
        super().__init__()
        self.source, self.embedded, self.clock, self.poll_s, self.live = source, embedded, clock, poll_s, live
        self.model = FleetModel()
        self.views: dict = {}
        self.event_lines: deque[str] = deque(maxlen=2000)
        self.events_seen = 0
        self.last_seq = 0
        self.function_rates: dict = {}
        self.function_series: dict[str, deque] = {p: deque(maxlen=HISTORY) for p in ENDPOINTS}
        self._totals: tuple[float, dict] | None = None
        self.banner = ""
        self.outcomes: list[tuple[bool, str]] = []  # every action's (ok, text), as notified
        self.collector = Collector()

    def now(self) -> float:
        return self.clock()

    def on_mount(self) -> None:
        self.collector.start()  # full collections while no key is pressed (collector.py)
        self.set_interval(1.0, self.collector.tick)
        self.switch_mode("fleet")
        self.follow_events()
        self.poll()

    async def on_unmount(self) -> None:
        self.collector.stop()
        await self.source.close()

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key):
            self.collector.key()
        await super().on_event(event)

    # ------------------------------------------------------------ the feed (workers)

    @work(exclusive=True, group="events")
    async def follow_events(self) -> None:
        while True:
            try:
                async for event in self.source.events(self.last_seq):
                    self.post_message(FeedEvent(event))
            except (ControlError, NoEmulator, ValueError) as exc:
                self.post_message(Connection(False, str(exc)))
            await asyncio.sleep(1)

    @work(exclusive=True, group="poll")
    async def poll(self) -> None:
        while True:
            wanted = SCREEN_VIEWS.get(self.current_mode, ()) if self.live else \
                sorted({p for paths in SCREEN_VIEWS.values() for p in paths})
            for path in ("/health", "/v1/fleet", *wanted):
                try:
                    data = await (self.source.text(path) if path == "/metrics"
                                  else self.source.get(path))
                except (ControlError, NoEmulator) as exc:
                    self.post_message(Connection(False, str(exc)))
                    break
                self.post_message(ViewData(path, data))
            else:
                self.post_message(Connection(True))
            if not self.live:
                return
            await asyncio.sleep(self.poll_s)

    # ------------------------------------------------------------ the feed (messages)

    def on_feed_event(self, message: FeedEvent) -> None:
        event = message.event
        self.last_seq = max(self.last_seq, event.get("seq", 0))
        self.event_lines.append(event_line(event))
        self.events_seen += 1
        changed = self.model.apply_event(event)
        if changed or isinstance(self.screen, EventsScreen):
            self._repaint()

    def on_view_data(self, message: ViewData) -> None:
        if message.view == "/v1/fleet":
            self.model.apply_fleet(message.data.get("engines") or [])
        elif message.view == "/v1/discovery":
            self.model.apply_members(message.data.get("members") or [])
        elif message.view == "/v1/function":
            self._note_function(message.data)
        self.views[message.view] = message.data
        self._repaint()

    def _note_function(self, snapshot: dict) -> None:
        now, totals = self.now(), request_totals(snapshot)
        if self._totals is not None:
            self.function_rates = rates(self._totals[1], totals, now - self._totals[0])
            for path in ENDPOINTS:
                self.function_series[path].append(
                    sum(r for (p, _), r in self.function_rates.items() if p == path))
        self._totals = (now, totals)

    def on_connection(self, message: Connection) -> None:
        banner = "" if message.connected else f" · [red]disconnected: {message.reason}[/red]"
        if banner != self.banner:
            self.banner = banner
            self._repaint()

    def on_action_done(self, message: ActionDone) -> None:
        self.outcomes.append((message.ok, message.text))
        self.notify(message.text, severity="information" if message.ok else "error",
                    timeout=4 if message.ok else 8)

    def _repaint(self) -> None:
        refresh = getattr(self.screen, "refresh_feed", None)
        if refresh is not None:
            refresh()

    # ------------------------------------------------------------ actions

    @work(group="actions")
    async def send(self, what: str, method: str, path: str, body: dict | None = None, done=None) -> None:
        """One control API call; its result or error becomes a notification."""
        try:
            answer = await self.source.send(method, path, body)
        except (ControlError, NoEmulator) as exc:
            self.post_message(ActionDone(f"{what}: {exc}", ok=False))
            return
        try:
            text = done(answer) if done else f"{what}: done"
        except (KeyError, TypeError, ValueError, AttributeError):  # an answer of another shape
            text = f"{what}: done"
        self.post_message(ActionDone(text))

    def _fleet(self) -> FleetScreen | None:
        return self.screen if isinstance(self.screen, FleetScreen) else None

    def _targets(self) -> list[str]:
        screen = self.screen
        if isinstance(screen, FleetScreen):
            return screen.targets()
        return [screen.engine] if isinstance(screen, DetailScreen) else []

    def _selected_kind(self) -> str | None:
        names = self._targets()
        return self.model.rows.get(names[0], {}).get("kind") if names else None

    def recycle_engines(self, names: list[str]) -> None:
        from emulator.api.tables import pod_line
        for name in names:
            self.send(f"recycle {name}", "POST", f"/v1/engines/{name}/recycle",
                      done=lambda pod: pod_line("recycled", pod))

    def action_recycle(self) -> None:
        self.recycle_engines(self._targets())

    def action_rolling(self) -> None:
        kind = self._selected_kind()
        if kind:
            self.send(f"rolling recycle of {kind}", "POST", f"/v1/fleet/{kind}/recycle", {"rolling": True},
                      done=lambda a: f"rolling recycle of {kind}: {len(a.get('engines', []))} engines recycled")

    def action_scale(self) -> None:
        kind = self._selected_kind() or ""
        current = sum(1 for r in self.model.rows.values() if r.get("kind") == kind)

        def chosen(text: str | None) -> None:
            if text is None:
                return
            words = text.split()
            target, count = (words[0], words[1]) if len(words) == 2 else (kind, text)
            if not count.isdigit():
                self.notify(f"scale: replicas must be a whole number >= 0, got {count!r}", severity="error")
                return
            from emulator.api.tables import scaled_lines
            self.send(f"scale {target}", "POST", f"/v1/fleet/{target}/scale", {"replicas": int(count)},
                      done=lambda a: "; ".join(scaled_lines(a)))
        self.push_screen(Ask("Scale: KIND REPLICAS (0 scales to zero; any kind, also one at zero)",
                             f"{kind} {current}".strip()), chosen)

    def action_kill(self) -> None:
        names = self._targets()
        if not names:
            return
        from emulator.api.tables import killed_line

        def confirmed(yes: bool | None) -> None:
            for name in names if yes else ():
                self.send(f"kill {name}", "POST", f"/v1/engines/{name}/kill", done=killed_line)
        self.push_screen(Confirm(f"kill -9 {', '.join(names)}? No final flush; the platform replaces "
                                 "it."), confirmed)

    def action_restart(self) -> None:
        from emulator.api.tables import pod_line
        for name in self._targets():
            self.send(f"restart {name}", "POST", f"/v1/engines/{name}/restart",
                      done=lambda pod: pod_line("restarted", pod) + " (same volume)")

    def action_fault(self) -> None:
        from emulator.api.tables import fault_set_line
        names = self._targets()

        def chosen(spec: dict | None) -> None:
            if spec:
                self.send("fault", "POST", "/v1/faults", spec, done=fault_set_line)
        self.push_screen(FaultDialog(names[0] if names else None), chosen)

    def action_clear_faults(self) -> None:
        from emulator.api.tables import faults_cleared_line
        self.send("clear faults", "DELETE", "/v1/faults", done=faults_cleared_line)

    def action_reset_store(self) -> None:
        def confirmed(yes: bool | None) -> None:
            if yes:
                self.send("reset", "POST", "/v1/reset",
                          done=lambda a: f"store emptied: {a.get('removed')} objects removed")
        self.push_screen(Confirm("Empty the store? Every engine's snapshots are deleted."), confirmed)

    def action_workload(self) -> None:
        names = self._targets()
        if not names:
            return
        name = names[0]
        kind = self.model.rows.get(name, {}).get("kind", name.rpartition("-")[0])

        def chosen(answer: dict | None) -> None:
            if not answer:
                return
            body = answer["body"]
            if answer["scope"] == "kind":
                self.send(f"workload of {kind}", "POST", f"/v1/fleet/{kind}/workload", body,
                          done=lambda a: f"workload of {kind}: {a.get('rate')} writes/s on "
                                         f"{len(a.get('engines', []))} engines and new pods")
            else:
                for n in names:
                    self.send(f"workload of {n}", "POST", f"/v1/engines/{n}/workload", body,
                              done=lambda a: f"workload of {a.get('name')}: {a.get('rate')} writes/s"
                                             f"{' (running)' if a.get('running') else ' (off)'}")
        self.push_screen(WorkloadDialog(name, kind), chosen)

    def action_help(self) -> None:
        self.push_screen(Help(KEYS))

    async def action_quit(self) -> None:
        """Textual's own quit (the command palette's "Quit") asks like `q` does."""
        self.action_quit_view()

    def action_quit_view(self) -> None:
        if not self.embedded:
            self.exit()
            return

        def answered(answer: str | None) -> None:
            if answer:
                self.exit(answer)
        self.push_screen(QuitEmbedded(), answered)

    def get_system_commands(self, screen):
        yield from super().get_system_commands(screen)
        for key, (title, action) in {
                "recycle": ("Recycle the selected engine(s)", self.action_recycle),
                "rolling": ("Rolling recycle of the selected kind", self.action_rolling),
                "scale": ("Scale the selected kind", self.action_scale),
                "kill": ("kill -9 the selected engine(s)", self.action_kill),
                "restart": ("Restart the selected engine(s)", self.action_restart),
                "fault": ("Set a fault", self.action_fault),
                "clear": ("Clear faults", self.action_clear_faults),
                "workload": ("Write workload of the selected engine or kind", self.action_workload),
                "reset": ("Reset the store", self.action_reset_store)}.items():
            yield SystemCommand(title, f"{key}: goes through the control API", action)
