"""The engine's WKP-1 persistence state machine (sans-I/O).

Theory of operation
-------------------
`EngineMachine.handle(event) -> [effect]` is the only entry point. Events say
what happened (engine_events: Booted, Wrote, Tick, TimerFired, PayloadBuilt,
Response, NetworkError, Restored, Sigterm, ...), each with the driver's clock
reading `now`; effects say what to do (Restore, Health, Cut, Push, Buffer,
Save, Ledger, Compact, WaitUntil, Log, Alert, Exit, ...). The machine holds no
sockets, files or clock and draws jitter from the injected random.Random, so
the asyncio driver in engines_fake and a SimPy model run the same decisions.

Lifecycle: BOOTING -> (RESTORING <-> RESTORE_WAIT) -> IDLE; then push rounds
IDLE -> CUTTING -> PUSHING (<-> PUSH_WAIT) -> IDLE, one round per schedule
tick; SIGTERM turns the current or a new round into the final flush, bounded
by the shutdown budget, after which the machine emits Exit. Routing is the
TRANSITIONS table at the bottom: (phase, event type) -> handler; events a phase
does not expect are logged at debug and otherwise ignored (a late answer to an
abandoned request, say), never acted on.

A round: send the buffered payload first (if retries ran out last tick), then
cut one push of the configured strategy (engine_policy.choose_kind). Each
request is classified by status (engine_policy.classify) and handled as seed
000 says: 200/202 advance the durable cursor; 400 drops; 401 alerts and
re-signs; 409 switches to a full; 413 re-splits at the named limit; 429 and
5xx back off (cap 60 s) up to MAX_RETRIES attempts, then buffer until the next
tick. A shutdown round keeps cutting until every write is acknowledged.
"""
from __future__ import annotations

import itertools
import random
from dataclasses import replace

from .engine_config import EngineConfig
from .engine_events import (
    Alert, Booted, Compact, Exit, Health, Ledger, Log, NetworkError, PayloadBuilt, PayloadFailed,
    PersistState, Response, Restore, Restored, Save, Serve, Sigterm, StopWrites, Tick, TimerFired,
    WaitUntil, Wrote)
from .engine_policy import Outcome, classify
from .engine_rounds import (EXIT_FLUSH_INCOMPLETE, EXIT_OK, EXIT_RESTORE_FAILED, Flight, Phase,
                            PushRounds)

HEALTH_TIMEOUT_S = 10.0


class EngineMachine(PushRounds):
    def __init__(self, config: EngineConfig, rng: random.Random):
        self.config, self.rng = config, rng
        self.phase = Phase.BOOTING
        self.state = PersistState()
        self.lsn = self.unpushed_bytes = self.wal_bytes = 0
        self.flight: Flight | None = None
        self.buffered: Flight | None = None
        self.round: str | None = None
        self.stopping = False
        self.stop_deadline = self.next_tick_at = self.retry_at = self.next_health_at = None
        self.health_token: int | None = None
        self.health = "unknown"
        self.restore_attempts = 0
        self.boot: dict = {"how": None}
        self.last_push: dict | None = None
        self.alerts = 0
        self._tokens = itertools.count(1)
        self._waiting: float | None = None
        self._restore_token: int | None = None
        self._volume_empty = True

    # ------------------------------------------------------------ entry point

    def handle(self, event) -> list:
        out: list = []
        if self.phase is Phase.EXITED:
            return out
        if isinstance(event, (Response, NetworkError)) and event.token == self.health_token:
            self._on_health(event, out)
        else:
            handler = TRANSITIONS.get((self.phase, type(event))) or TRANSITIONS.get((None, type(event)))
            if handler is None:
                out.append(Log("debug", f"ignored {type(event).__name__} while {self.phase.value}"))
            else:
                handler(self, event, out)
        if self.stopping and self.phase is not Phase.EXITED and event.now >= self.stop_deadline:
            self._flush_failed(f"the {self.config.shutdown_budget_s:g} s shutdown budget ran out",
                               event.now, out)
        self._arm_timer(out)
        return out

    def status(self) -> dict:
        """A read-only summary for /status (and the fleet view)."""
        d = self.state.durable
        return {"phase": self.phase.value, "lsn": self.lsn, "epoch": self.state.epoch,
                "cursor": str(d) if d else None, "durable_lsn": d.seq if d else 0,
                "unacknowledged_writes": self.lsn - (d.seq if d else 0),
                "buffered_bytes": self.buffered.size if self.buffered else 0,
                "last_push": self.last_push, "health": self.health, "alerts": self.alerts,
                "stopping": self.stopping, "round": self.round,
                "learned_max_payload": self.state.max_payload, "force_full": self.state.force_full,
                "next_tick_at": self.next_tick_at, "retry_at": self.retry_at, "boot": dict(self.boot)}

    # ------------------------------------------------------------ boot and restore

    def _on_booted(self, ev: Booted, out) -> None:
        self.state, self.lsn, self.unpushed_bytes = ev.persisted, ev.lsn, ev.unpushed_bytes
        self._volume_empty = ev.volume_empty
        cfg = self.config
        if not cfg.persists:
            return self._serve("fresh" if ev.volume_empty else "local", ev.now, out)
        self._probe(ev.now, out)
        if cfg.restore_on_boot and (ev.volume_empty or self.state.durable is None):
            return self._send_restore(ev.now, out)
        self._serve("fresh" if ev.volume_empty else "local", ev.now, out)

    def _send_restore(self, now: float, out) -> None:
        self.restore_attempts += 1
        self.phase = Phase.RESTORING
        self._restore_token = next(self._tokens)
        out.append(Restore(self._restore_token, self.restore_attempts, self.config.takeover,
                           self.config.request_timeout_s))

    def _on_restore_answer(self, ev, out) -> None:
        if ev.token != self._restore_token:
            return out.append(Log("debug", "ignored a stale restore answer"))
        if isinstance(ev, Response) and ev.status == 204:
            out.append(Ledger("restore", {"at": ev.now, "status": 204}))
            return self._serve("fresh" if self._volume_empty else "local", ev.now, out)
        status = ev.status if isinstance(ev, Response) else None
        outcome = classify(status) if status is not None else Outcome.TRANSIENT
        reason = f"restore: {status or 'network error'} {ev.reason}".strip()
        if outcome is Outcome.REAUTH:
            self._alert("auth", f"{reason}; retrying with a fresh signature", out)
        if outcome not in (Outcome.REAUTH, Outcome.THROTTLED, Outcome.TRANSIENT):
            return self._restore_failed(reason, ev.now, out)
        if self.restore_attempts >= self.config.max_attempts:
            return self._restore_failed(f"{reason} (after {self.restore_attempts} attempts)", ev.now, out)
        delay = self._delay(outcome, self.restore_attempts, getattr(ev, "retry_after", None))
        out.append(Log("warning", f"{reason}; retry in {delay:.2f} s"))
        self.phase, self.retry_at = Phase.RESTORE_WAIT, ev.now + delay

    def _restore_failed(self, reason: str, now: float, out) -> None:
        """Serving an empty state over a lineage that exists would fork it (the
        first full would be refused or, worse, win later): exit and let the
        platform restart the engine, which tries again."""
        self._alert("restore", reason, out)
        out.append(Ledger("restore", {"at": now, "failed": reason}))
        self._exit(EXIT_RESTORE_FAILED, f"cannot restore, refusing to serve: {reason}", out)

    def _on_restored(self, ev: Restored, out) -> None:
        if ev.token != self._restore_token:
            return out.append(Log("debug", "ignored a stale restore"))
        takeover = bool(ev.lineage)
        epoch = ev.cursor.epoch + 1 if takeover else ev.cursor.epoch
        self.state = replace(self.state, durable=None if takeover else ev.cursor, epoch=epoch,
                             force_full=takeover)
        self.lsn, self.unpushed_bytes = ev.lsn, 0
        out.append(Save(self.state))
        out.append(Ledger("restore", {"at": ev.now, "status": 200, "cursor": str(ev.cursor),
                                      "lineage": ev.lineage, "deltas": ev.deltas,
                                      "records": ev.records, "bytes": ev.size, "lsn": ev.lsn}))
        self._serve("restored", ev.now, out, cursor=ev.cursor, lineage=ev.lineage)
        if takeover:  # decisions doc: adopt, bump the epoch, push a full into our own subtree first
            out.append(Log("info", f"adopted lineage {ev.lineage} at {ev.cursor}; epoch {epoch}"))
            self._start_round("takeover", ev.now, out)

    def _serve(self, how: str, now: float, out, cursor=None, lineage=None) -> None:
        self.phase = Phase.IDLE
        self.boot = {"how": how, "cursor": str(cursor) if cursor else None, "lineage": lineage,
                     "at": now}
        out.append(Serve(how, cursor, lineage))
        if self.config.persists:
            self.next_tick_at = self.config.schedule.next_after(now)

    # ------------------------------------------------------------ writes and timers

    def _on_wrote(self, ev: Wrote, out) -> None:
        grew = ev.lsn - self.lsn
        self.lsn = max(self.lsn, ev.lsn)
        if grew > 0 and self.config.persists:
            self.unpushed_bytes += ev.nbytes
        self.wal_bytes += ev.nbytes
        if self.wal_bytes >= self.config.compact_bytes:
            self._compact(out)

    def _compact(self, out) -> None:
        """Keep the WAL after the durable cursor (deltas need it) unless it grew
        past the buffer bound during a long outage: then drop it and make the
        next push a full, which carries everything anyway."""
        s, cfg = self.state, self.config
        retain = self.lsn
        if cfg.persists and s.durable is not None and s.durable.epoch == s.epoch and not s.force_full:
            if self.unpushed_bytes <= cfg.buffer_bytes:
                retain = s.durable.seq
            else:
                self.state = replace(s, force_full=True)
                out.append(Save(self.state))
                out.append(Log("warning", f"{self.unpushed_bytes} unacknowledged WAL bytes exceed "
                                          f"the {cfg.buffer_bytes}-byte bound: next push is a full"))
        self.wal_bytes = 0
        out.append(Compact(retain))

    def _on_tick(self, ev: Tick, out) -> None:
        if self.config.persists and not self.stopping:
            self._start_round(ev.reason, ev.now, out)

    def _on_busy_tick(self, ev: Tick, out) -> None:
        out.append(Log("debug", f"{ev.reason} tick ignored: a push round is in progress"))

    def _on_timer(self, ev: TimerFired, out) -> None:
        now = ev.now
        if self.next_health_at is not None and now >= self.next_health_at and self.health_token is None:
            self._probe(now, out)
        if self.retry_at is not None and now >= self.retry_at:
            self.retry_at = None
            if self.phase is Phase.RESTORE_WAIT:
                self._send_restore(now, out)
            elif self.phase is Phase.PUSH_WAIT:
                self._send_part(now, out)
        if self.next_tick_at is not None and now >= self.next_tick_at:
            self.next_tick_at = self.config.schedule.next_after(now)
            if self.phase is Phase.IDLE and not self.stopping:
                self._start_round("tick", now, out)
            else:
                out.append(Log("debug", "scheduled tick skipped: a push round is in progress"))

    def _arm_timer(self, out) -> None:
        candidates = [self.retry_at, self.next_health_at, self.stop_deadline]
        if not self.stopping:
            candidates.append(self.next_tick_at)
        deadline = min((c for c in candidates if c is not None), default=None)
        if deadline is not None and deadline != self._waiting and self.phase is not Phase.EXITED:
            out.append(WaitUntil(deadline))
        self._waiting = deadline

    def _probe(self, now: float, out) -> None:
        self.health_token = next(self._tokens)
        out.append(Health(self.health_token, min(HEALTH_TIMEOUT_S, self.config.request_timeout_s)))
        interval = self.config.health_interval_s
        self.next_health_at = now + interval if interval > 0 else None

    def _on_health(self, ev, out) -> None:
        self.health_token = None
        if isinstance(ev, Response) and 200 <= ev.status < 300:
            self.health = "ok"
            return
        what = f"status {ev.status}" if isinstance(ev, Response) else "unreachable"
        self.health = what
        out.append(Log("warning", f"persistence health check: {what} {ev.reason}".rstrip()
                       + "; serving continues"))

    # ------------------------------------------------------------ shutdown

    def _on_sigterm(self, ev: Sigterm, out) -> None:
        cfg = self.config
        if self.stopping:
            return out.append(Log("info", "SIGTERM again: still flushing"))
        if self.phase in (Phase.BOOTING, Phase.RESTORING, Phase.RESTORE_WAIT):
            return self._exit(EXIT_OK, "SIGTERM before serving: nothing to flush", out)
        out.append(StopWrites())
        if not (cfg.persists and cfg.on_shutdown):
            unacked = self._unacknowledged()
            note = f"; writes {unacked[0]}..{unacked[1]} stay on the volume only" if unacked and cfg.persists else ""
            out.append(Ledger("exit", {"at": ev.now, "flushed": False, "unacknowledged": unacked}))
            return self._exit(EXIT_OK, f"SIGTERM: no final flush (mode {cfg.mode}, "
                                       f"ON_SHUTDOWN {cfg.on_shutdown}){note}", out)
        self.stopping, self.stop_deadline = True, ev.now + cfg.shutdown_budget_s
        out.append(Log("info", f"SIGTERM: final flush within {cfg.shutdown_budget_s:g} s"))
        if self.phase is Phase.IDLE:
            return self._start_round("shutdown", ev.now, out)
        self.round = "shutdown"
        if self.retry_at is not None:  # keep backing off, but leave room for the attempt itself
            self.retry_at = min(self.retry_at, ev.now + cfg.shutdown_budget_s / 4)

    def _unacknowledged(self):
        durable = self.state.durable.seq if self.state.durable else 0
        return [durable + 1, self.lsn] if self.lsn > durable else None

    def _flush_failed(self, reason: str, now: float, out) -> None:
        unacked = self._unacknowledged()
        what = (f"writes lsn {unacked[0]}..{unacked[1]} were not acknowledged; they stay in "
                "this volume's WAL and are lost if the volume is discarded") if unacked else \
            "every write was already acknowledged"
        self._alert("flush_incomplete", f"final flush failed: {reason}; {what}", out)
        out.append(Ledger("exit", {"at": now, "flushed": False, "reason": reason,
                                   "unacknowledged": unacked}))
        self._exit(EXIT_FLUSH_INCOMPLETE if unacked else EXIT_OK, f"final flush failed: {reason}", out)

    def _alert(self, kind: str, message: str, out) -> None:
        self.alerts += 1
        out.append(Alert(kind, message))

    def _exit(self, code: int, reason: str, out) -> None:
        self.phase = Phase.EXITED
        self.retry_at = self.next_tick_at = self.next_health_at = None
        out.append(Exit(code, reason))


# (phase, event type) -> handler; phase None matches every phase not listed.
TRANSITIONS = {
    (Phase.BOOTING, Booted): EngineMachine._on_booted,
    (Phase.RESTORING, Response): EngineMachine._on_restore_answer,
    (Phase.RESTORING, NetworkError): EngineMachine._on_restore_answer,
    (Phase.RESTORING, Restored): EngineMachine._on_restored,
    (Phase.IDLE, Tick): EngineMachine._on_tick,
    (Phase.CUTTING, PayloadBuilt): EngineMachine._on_built,
    (Phase.CUTTING, PayloadFailed): EngineMachine._on_build_failed,
    (Phase.PUSHING, Response): EngineMachine._on_push_answer,
    (Phase.PUSHING, NetworkError): EngineMachine._on_push_answer,
    (None, Tick): EngineMachine._on_busy_tick,
    (None, Wrote): EngineMachine._on_wrote,
    (None, TimerFired): EngineMachine._on_timer,
    (None, Sigterm): EngineMachine._on_sigterm,
}
