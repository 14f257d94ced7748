"""The fleet view, instrumented, for bench/tui_fleet.py (run it in a real terminal).

It is the real FleetApp; the subclass only notes times: when an engine event that
changed a row arrived, when a key arrived, and when the next frame was written to
the terminal after each (and the view's CPU time in between, which the load of
other processes on the machine does not stretch). Results go to --out as JSON when --seconds have passed.

    python bench/tui_probe.py --control URL --seconds 30 --out r.json
    python bench/tui_probe.py --feed tests/tui/feed.json --engines 1000 --seconds 30 --out r.json
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from textual import events  # noqa: E402

from emulator.tui.app import FleetApp  # noqa: E402


class Probe(FleetApp):
    def __init__(self, *args, out: Path, seconds: float, **kwargs):
        super().__init__(*args, **kwargs)
        self.out, self.seconds = out, seconds
        self.event_waits: list[float] = []   # engine event at (wall) -> its row painted (wall)
        self.key_waits: list[float] = []     # key in -> next frame out (perf counter)
        self.key_names: list[str] = []       # which key each wait was for
        self.key_cpu: list[float] = []       # the view's own CPU (its main thread) in each wait
        self._events_pending: list[float] = []
        self._key_at: float | None = None
        self._key_name = ""
        self.frames = 0
        self.started = time.time()  # history replayed on connecting is not latency

    def on_mount(self) -> None:
        super().on_mount()
        self.set_timer(self.seconds, self._finish)

    def on_feed_event(self, message) -> None:
        name = message.event.get("subject")
        before = dict(self.model.rows.get(name) or {})
        super().on_feed_event(message)
        changed = self.model.rows.get(name, {}) != before and message.event.get("kind", "").startswith("engine.")
        if changed and (message.event.get("at") or 0) >= self.started:
            self._events_pending.append(message.event["at"])

    async def on_event(self, event) -> None:
        if isinstance(event, events.Key) and self._key_at is None:
            self._key_at, self._key_name = time.perf_counter(), event.key
            self._key_cpu = time.thread_time()
        await super().on_event(event)

    def _display(self, screen, renderable) -> None:
        super()._display(screen, renderable)
        if renderable is None:
            return
        self.frames += 1
        now_wall, now = time.time(), time.perf_counter()
        self.event_waits += [now_wall - at for at in self._events_pending]
        self._events_pending.clear()
        if self._key_at is not None:
            self.key_waits.append(now - self._key_at)
            self.key_names.append(self._key_name)
            self.key_cpu.append(time.thread_time() - self._key_cpu)
            self._key_at = None

    def _finish(self) -> None:
        self.out.write_text(json.dumps({"event_waits": self.event_waits, "key_waits": self.key_waits,
                                        "key_names": self.key_names, "key_cpu": self.key_cpu,
                                        "frames": self.frames, "rows": len(self.model.rows)}))
        self.exit()


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--control")
    p.add_argument("--feed")
    p.add_argument("--engines", type=int, default=1000)
    p.add_argument("--seconds", type=float, default=30)
    p.add_argument("--out", required=True)
    args = p.parse_args()
    if args.control:
        from emulator.tui.source import LiveSource
        app = Probe(LiveSource(args.control), out=Path(args.out), seconds=args.seconds)
    else:
        from emulator.tui.recording import load, scaled
        from emulator.tui.source import RecordedSource
        rec = scaled(load(args.feed), args.engines)
        app = Probe(RecordedSource(rec), clock=lambda: rec["now"], live=False, out=Path(args.out),
                    seconds=args.seconds)
    app.run()


if __name__ == "__main__":
    main()
