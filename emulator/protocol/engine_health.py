"""The engine machine's health part: probe GET /health, report, never stop serving."""
from __future__ import annotations

from dataclasses import dataclass

from .engine_core import EngineCore
from .engine_events import Health, Log, Response

HEALTH_TIMEOUT_S = 10.0


@dataclass(slots=True)
class HealthState:
    token: int | None = None        # the probe in flight
    status: str = "unknown"         # ok | status N | unreachable
    next_at: float | None = None    # the next probe (None: probes off)


class HealthPart:
    __slots__ = ("core", "s")

    def __init__(self, core: EngineCore):
        self.core, self.s = core, HealthState()

    def probe(self, now: float, out) -> None:
        s, cfg = self.s, self.core.config
        s.token = self.core.token()
        out.append(Health(s.token, min(HEALTH_TIMEOUT_S, cfg.request_timeout_s)))
        interval = cfg.health_interval_s
        s.next_at = now + interval if interval > 0 else None

    def on_timer(self, now: float, out) -> None:
        s = self.s
        if s.next_at is not None and now >= s.next_at and s.token is None:
            self.probe(now, out)

    def on_answer(self, ev, out) -> None:
        """The answer to the probe in flight (a Response or a NetworkError), in any phase."""
        s = self.s
        s.token = None
        if isinstance(ev, Response) and 200 <= ev.status < 300:
            s.status = "ok"
            return
        what = f"status {ev.status}" if isinstance(ev, Response) else "unreachable"
        s.status = what
        out.append(Log("warning", f"persistence health check: {what} {ev.reason}".rstrip()
                       + "; serving continues"))
