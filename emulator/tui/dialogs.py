"""Modal dialogs: confirm, a number (scale), a fault, a workload, and the help screen."""
from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static

class Field(Input):
    """An input that does not blink over a recorded feed (snapshots render the same)."""

    def on_mount(self) -> None:
        if not getattr(self.app, "live", True):
            self.cursor_blink = False


# The documented fault kinds (docs/emulator.md, Faults) and the parameters each takes.
FAULT_KINDS: dict[str, tuple[dict, tuple[str, ...]]] = {
    "function error": ({"target": "function", "kind": "error"}, ("status", "count", "rate", "retry_after", "paths")),
    "function latency": ({"target": "function", "kind": "latency"}, ("ms", "jitter_ms", "count", "rate", "paths")),
    "function outage": ({"target": "function", "kind": "outage"}, ("count", "rate", "paths")),
    "function request_limit": ({"target": "function", "kind": "request_limit"}, ("bytes",)),
    "store outage": ({"target": "store", "kind": "outage"}, ("count", "rate")),
    "store latency": ({"target": "store", "kind": "latency"}, ("ms", "jitter_ms", "count", "rate")),
    "engine clock skew": ({"target": "engine"}, ("engine", "clock_skew_s")),
    "engine discovery partition": ({"target": "engine", "discovery_partitioned": True}, ("engine",)),
    "discovery network": ({"target": "discovery"}, ("loss", "isolate")),
}
DEFAULTS = {"status": "503", "count": "3", "ms": "300", "bytes": "6291456", "clock_skew_s": "400",
            "loss": "0.3"}


def fault_spec(kind_label: str, fields: dict[str, str]) -> dict:
    """The control API's fault body from the dialog's fields (empty fields left out);
    numbers become numbers, paths a list. Pure, so it is tested without a terminal."""
    base, params = FAULT_KINDS[kind_label]
    spec = dict(base)
    for name in params:
        text = (fields.get(name) or "").strip()
        if not text:
            continue
        if name in ("paths", "isolate"):
            spec[name] = [p.strip() for p in text.split(",") if p.strip()]
        elif name == "engine":
            spec[name] = text
        else:
            try:
                spec[name] = int(text)
            except ValueError:
                try:
                    spec[name] = float(text)
                except ValueError:
                    spec[name] = text  # the API names the bad field
    return spec


class Confirm(ModalScreen[bool]):
    BINDINGS = [Binding("y", "answer(True)", "yes"), Binding("n", "answer(False)", "no"),
                Binding("escape", "answer(False)", "cancel")]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.question)
            with Horizontal():
                yield Button("Yes (y)", id="yes", variant="error")
                yield Button("No (n)", id="no")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


class QuitEmbedded(ModalScreen[str]):
    """Quitting the view `up` opened: stop the emulator, keep it running, or stay."""
    BINDINGS = [Binding("y", "answer('stop')", "stop"), Binding("n", "answer('keep')", "keep"),
                Binding("escape", "answer('')", "cancel")]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label("Stop the emulator? Engines flush first, as Ctrl-C does.\n"
                        "y: stop it   n: leave the view, keep it running   esc: stay")
            with Horizontal():
                yield Button("Stop (y)", id="stop", variant="error")
                yield Button("Keep running (n)", id="keep")
                yield Button("Cancel", id="cancel")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss("" if event.button.id == "cancel" else event.button.id)

    def action_answer(self, answer: str) -> None:
        self.dismiss(answer)


class Ask(ModalScreen[str | None]):
    """One value (replicas for scale, say); enter accepts, escape cancels."""
    BINDINGS = [Binding("escape", "cancel", "cancel")]

    def __init__(self, question: str, value: str = "") -> None:
        super().__init__()
        self.question, self.value = question, value

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.question)
            yield Field(self.value, id="answer")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip())

    def action_cancel(self) -> None:
        self.dismiss(None)


class FaultDialog(ModalScreen[dict | None]):
    """Pick a documented fault kind; its parameters appear as fields; enter sets it."""
    BINDINGS = [Binding("escape", "cancel", "cancel")]

    def __init__(self, engine: str | None = None) -> None:
        super().__init__()
        self.engine = engine

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="fault-dialog"):
            yield Label("Set a fault (enter in a field sets it, esc cancels)")
            yield Select([(k, k) for k in FAULT_KINDS], value="function error", id="fault-kind",
                         allow_blank=False)
            with Grid(id="fault-fields"):
                for name in sorted({p for _, ps in FAULT_KINDS.values() for p in ps}):
                    yield Label(name, id=f"label-{name}")
                    value = self.engine if name == "engine" and self.engine else DEFAULTS.get(name, "")
                    yield Field(value or "", id=f"field-{name}")
            yield Button("Set fault", id="set", variant="primary")

    def on_mount(self) -> None:
        self._show_fields("function error")

    def on_select_changed(self, event: Select.Changed) -> None:
        self._show_fields(str(event.value))

    def _show_fields(self, kind: str) -> None:
        params = FAULT_KINDS[kind][1]
        for name in {p for _, ps in FAULT_KINDS.values() for p in ps}:
            self.query_one(f"#label-{name}").display = name in params
            self.query_one(f"#field-{name}").display = name in params

    def _submit(self) -> None:
        kind = str(self.query_one("#fault-kind", Select).value)
        fields = {i.id.removeprefix("field-"): i.value for i in self.query(Input)}
        self.dismiss(fault_spec(kind, fields))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self._submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self._submit()

    def action_cancel(self) -> None:
        self.dismiss(None)


class WorkloadDialog(ModalScreen[dict | None]):
    """Rate (writes/s, 0 = off, or auto) and value size, for one engine or its kind."""
    BINDINGS = [Binding("escape", "cancel", "cancel")]

    def __init__(self, engine: str, kind: str, rate: str = "1") -> None:
        super().__init__()
        self.engine, self.kind, self.rate = engine, kind, rate

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(f"Write workload: rate in writes/s (0 = off, auto = the kind's typical), "
                        f"value bytes (0 = the kind's typical)")
            yield Field(self.rate, id="rate", placeholder="rate")
            yield Field("0", id="value_bytes", placeholder="value bytes")
            with Horizontal():
                yield Button(f"{self.engine} only", id="engine", variant="primary")
                yield Button(f"every {self.kind}", id="kind")

    def _answer(self, scope: str) -> None:
        rate = self.query_one("#rate", Input).value.strip()
        size = self.query_one("#value_bytes", Input).value.strip() or "0"
        body: dict = {"rate": rate if rate == "auto" else _number(rate)}
        body["value_bytes"] = _number(size)
        self.dismiss({"scope": scope, "body": body})

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self._answer(event.button.id)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self._answer("engine")

    def action_cancel(self) -> None:
        self.dismiss(None)


def _number(text: str):
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text  # sent as is: the API's 400 names the field


class Help(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark", "close", "close")]

    def __init__(self, keys: list[tuple[str, str]]) -> None:
        super().__init__()
        self.keys = keys

    def compose(self) -> ComposeResult:
        text = "\n".join(f"  {k:<10} {d}" for k, d in self.keys)
        with Vertical(classes="dialog"):
            yield Static(f"[b]Keys[/b]\n{text}\n\nEvery action goes through the control API; its "
                         "result or error shows as a notification.")

    def action_close(self) -> None:
        self.dismiss(None)
