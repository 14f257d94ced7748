"""The engine machine's boot part: restore on an empty volume (retrying), then serve.

BOOTING -> (RESTORING <-> RESTORE_WAIT) -> IDLE. A restore that cannot succeed
(a 409 gap, a 400, attempts used up) exits 4 rather than serve an empty state
over a lineage that exists. A restored takeover (another instance's lineage)
bumps the epoch and starts a round that pushes a full into the engine's own
subtree first (docs/protocol-decisions.md).
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

from .engine_core import EXIT_OK, EXIT_RESTORE_FAILED, EngineCore, Phase
from .engine_events import Booted, Ledger, Log, Response, Restore, Restored, Serve, Sigterm
from .engine_health import HealthPart
from .engine_policy import Outcome, classify
from .engine_rounds import PushRounds


@dataclass(slots=True)
class BootState:
    attempts: int = 0                 # restore requests sent
    token: int | None = None          # the restore in flight
    volume_empty: bool = True
    boot: dict = field(default_factory=lambda: {"how": None})   # how the engine came to serve


class BootPart:
    __slots__ = ("core", "health", "rounds", "s")

    def __init__(self, core: EngineCore, health: HealthPart, rounds: PushRounds):
        self.core, self.health, self.rounds, self.s = core, health, rounds, BootState()

    def on_booted(self, ev: Booted, out) -> None:
        c = self.core.s
        c.persisted, c.lsn, c.unpushed_bytes = ev.persisted, ev.lsn, ev.unpushed_bytes
        self.s.volume_empty = ev.volume_empty
        cfg = self.core.config
        if not cfg.persists:
            return self._serve("fresh" if ev.volume_empty else "local", ev.now, out)
        self.health.probe(ev.now, out)
        if cfg.restore_on_boot and (ev.volume_empty or c.persisted.durable is None):
            return self._send_restore(ev.now, out)
        self._serve("fresh" if ev.volume_empty else "local", ev.now, out)

    def _send_restore(self, now: float, out) -> None:
        s, cfg = self.s, self.core.config
        s.attempts += 1
        self.core.s.phase = Phase.RESTORING
        s.token = self.core.token()
        out.append(Restore(s.token, s.attempts, cfg.takeover, cfg.request_timeout_s))

    def on_retry_due(self, now: float, out) -> None:
        self._send_restore(now, out)

    def on_restore_answer(self, ev, out) -> None:
        s = self.s
        if ev.token != s.token:
            return out.append(Log("debug", "ignored a stale restore answer"))
        if isinstance(ev, Response) and ev.status == 204:
            out.append(Ledger("restore", {"at": ev.now, "status": 204}))
            return self._serve("fresh" if s.volume_empty else "local", ev.now, out)
        status = ev.status if isinstance(ev, Response) else None
        outcome = classify(status) if status is not None else Outcome.TRANSIENT
        reason = f"restore: {status or 'network error'} {ev.reason}".strip()
        if outcome is Outcome.REAUTH:
            self.core.alert("auth", f"{reason}; retrying with a fresh signature", out)
        if outcome not in (Outcome.REAUTH, Outcome.THROTTLED, Outcome.TRANSIENT):
            return self._restore_failed(reason, ev.now, out)
        if s.attempts >= self.core.config.max_attempts:
            return self._restore_failed(f"{reason} (after {s.attempts} attempts)", ev.now, out)
        delay = self.core.delay(outcome, s.attempts, getattr(ev, "retry_after", None))
        out.append(Log("warning", f"{reason}; retry in {delay:.2f} s"))
        c = self.core.s
        c.phase, c.retry_at = Phase.RESTORE_WAIT, ev.now + delay

    def _restore_failed(self, reason: str, now: float, out) -> None:
        """Serving an empty state over a lineage that exists would fork it (the
        first full would be refused or, worse, win later): exit and let the
        platform restart the engine, which tries again."""
        self.core.alert("restore", reason, out)
        out.append(Ledger("restore", {"at": now, "failed": reason}))
        self.core.exit(EXIT_RESTORE_FAILED, f"cannot restore, refusing to serve: {reason}", out)

    def on_restored(self, ev: Restored, out) -> None:
        if ev.token != self.s.token:
            return out.append(Log("debug", "ignored a stale restore"))
        c = self.core.s
        takeover = bool(ev.lineage)
        epoch = ev.cursor.epoch + 1 if takeover else ev.cursor.epoch
        c.lsn, c.unpushed_bytes = ev.lsn, 0
        self.core.save(replace(c.persisted, durable=None if takeover else ev.cursor, epoch=epoch,
                               force_full=takeover), out)
        out.append(Ledger("restore", {"at": ev.now, "status": 200, "cursor": str(ev.cursor),
                                      "lineage": ev.lineage, "deltas": ev.deltas,
                                      "records": ev.records, "bytes": ev.size, "lsn": ev.lsn}))
        self._serve("restored", ev.now, out, cursor=ev.cursor, lineage=ev.lineage)
        if takeover:  # decisions doc: adopt, bump the epoch, push a full into our own subtree first
            out.append(Log("info", f"adopted lineage {ev.lineage} at {ev.cursor}; epoch {epoch}"))
            self.rounds.start("takeover", ev.now, out)

    def on_sigterm(self, ev: Sigterm, out) -> None:
        self.core.exit(EXIT_OK, "SIGTERM before serving: nothing to flush", out)

    def _serve(self, how: str, now: float, out, cursor=None, lineage=None) -> None:
        c = self.core.s
        c.phase = Phase.IDLE
        self.s.boot = {"how": how, "cursor": str(cursor) if cursor else None, "lineage": lineage,
                       "at": now}
        out.append(Serve(how, cursor, lineage))
        if self.core.config.persists:
            c.next_tick_at = self.core.config.schedule.next_after(now)
