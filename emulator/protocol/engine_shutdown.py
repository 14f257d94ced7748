"""The engine machine's shutdown part: SIGTERM's final flush and its hard budget.

SIGTERM before the engine serves exits at once (nothing to flush; boot part).
After, writes stop and, when persisting with ON_SHUTDOWN, the current or a new
push round becomes the final flush (push rounds part), bounded by the budget:
every attempt's timeout and back-off are clamped to what is left, and when the
budget runs out the machine exits 3 naming the unacknowledged writes.
"""
from __future__ import annotations

from dataclasses import dataclass

from .engine_core import EXIT_FLUSH_INCOMPLETE, EXIT_OK, EngineCore
from .engine_events import Ledger, Log, StopWrites


@dataclass(slots=True)
class ShutdownState:
    stopping: bool = False          # the final flush is under way
    deadline: float | None = None   # when the budget runs out


class ShutdownPart:
    __slots__ = ("core", "s")

    def __init__(self, core: EngineCore):
        self.core, self.s = core, ShutdownState()

    def begin(self, now: float, out) -> bool:
        """SIGTERM while serving: stop writes; True if a final flush follows (the
        caller then turns a round into it), False if the machine exited."""
        core, cfg = self.core, self.core.config
        out.append(StopWrites())
        if not (cfg.persists and cfg.on_shutdown):
            unacked = core.unacknowledged()
            note = f"; writes {unacked[0]}..{unacked[1]} stay on the volume only" if unacked and cfg.persists else ""
            out.append(Ledger("exit", {"at": now, "flushed": False, "unacknowledged": unacked}))
            core.exit(EXIT_OK, f"SIGTERM: no final flush (mode {cfg.mode}, "
                               f"ON_SHUTDOWN {cfg.on_shutdown}){note}", out)
            return False
        self.s.stopping, self.s.deadline = True, now + cfg.shutdown_budget_s
        out.append(Log("info", f"SIGTERM: final flush within {cfg.shutdown_budget_s:g} s"))
        return True

    def check_budget(self, now: float, out) -> None:
        """After every event: a flush still running past its budget has failed."""
        if now >= self.s.deadline:
            self.flush_failed(f"the {self.core.config.shutdown_budget_s:g} s shutdown budget ran out",
                              now, out)

    def attempt_timeout(self, timeout: float, now: float) -> float:
        """A request's timeout, cut to the budget left when flushing."""
        if self.s.stopping:
            return max(0.05, min(timeout, self.s.deadline - now))
        return timeout

    def clamp_backoff(self, delay: float, now: float) -> float:
        """The budget is hard: leave room for this attempt and a few more."""
        if self.s.stopping:
            return min(delay, max((self.s.deadline - now) / 4, self.core.config.backoff_base_s))
        return delay

    def flush_failed(self, reason: str, now: float, out) -> None:
        core = self.core
        unacked = core.unacknowledged()
        what = (f"writes lsn {unacked[0]}..{unacked[1]} were not acknowledged; they stay in "
                "this volume's WAL and are lost if the volume is discarded") if unacked else \
            "every write was already acknowledged"
        core.alert("flush_incomplete", f"final flush failed: {reason}; {what}", out)
        out.append(Ledger("exit", {"at": now, "flushed": False, "reason": reason,
                                   "unacknowledged": unacked}))
        core.exit(EXIT_FLUSH_INCOMPLETE if unacked else EXIT_OK, f"final flush failed: {reason}", out)

    def flushed(self, now: float, out) -> None:
        """The final flush's round ended with every write acknowledged."""
        core = self.core
        d = core.s.persisted.durable
        out.append(Ledger("exit", {"at": now, "flushed": True, "cursor": str(d) if d else None,
                                   "lsn": core.s.lsn}))
        core.exit(EXIT_OK, f"final flush complete at {d}" if d else "nothing to flush", out)
