"""The engine's WKP-1 persistence state machine (sans-I/O).

Theory of operation
-------------------
`EngineMachine.handle(event) -> [effect]` is the only entry point. Events say
what happened (engine_events: Booted, Wrote, Tick, TimerFired, PayloadBuilt,
Response, NetworkError, Restored, Sigterm, ...), each with the driver's clock
reading `now`; effects say what to do (Restore, Health, Cut, Push, Buffer,
Save, Ledger, Compact, WaitUntil, Log, Alert, Exit, ...). The machine holds no
sockets, files or clock and draws jitter from the injected random.Random, so
the asyncio driver in engines_fake and the simulator run the same decisions.
`next_deadline()` is the earliest time it wants a TimerFired (the last
WaitUntil it emitted; None when it waits for nothing).

Lifecycle: BOOTING -> (RESTORING <-> RESTORE_WAIT) -> IDLE; then push rounds
IDLE -> CUTTING -> PUSHING (<-> PUSH_WAIT) -> IDLE, one round per schedule
tick; SIGTERM turns the current or a new round into the final flush, bounded
by the shutdown budget, after which the machine emits Exit.

The machine is composed of parts, each a class with its own declared state,
built with the parts it calls:

    EngineCore   phase, persisted state, lsn, the retry and schedule timers (engine_core)
    WalPart      writes and compactions (engine_wal)
    HealthPart   GET /health probes; never stops serving (engine_health)
    ShutdownPart SIGTERM's final flush and its budget (engine_shutdown)
    PushRounds   cut, send, classify, retry, buffer (engine_rounds)
    BootPart     restore on boot, then serve (engine_boot)
    Timers       which deadline came due, and the next one (here)

Routing is the TRANSITIONS table at the bottom: (phase, event type) -> a
part's handler; phase None matches every phase not listed. An answer to the
health probe in flight goes to the health part in any phase. Events a phase
does not expect are logged at debug and otherwise ignored (a late answer to an
abandoned request, say), never acted on. The table is resolved once per
machine into a dict per phase of bound handlers: one lookup per event.
"""
from __future__ import annotations

import random

from .engine_boot import BootPart
from .engine_config import EngineConfig
from .engine_core import EngineCore, Phase
from .engine_events import (Booted, Log, NetworkError, PayloadBuilt, PayloadFailed, PersistState,
                            Response, Restored, Sigterm, Tick, TimerFired, WaitUntil, Wrote)
from .engine_health import HealthPart
from .engine_rounds import PushRounds
from .engine_shutdown import ShutdownPart
from .engine_wal import WalPart


class Timers:
    """A TimerFired runs whatever came due, in this order: the health probe, the
    retry (of a restore or a push, by phase), the schedule's tick."""
    __slots__ = ("core", "health", "shutdown", "rounds", "retries", "_c", "_hs", "_ss", "_schedule")

    def __init__(self, core: EngineCore, health: HealthPart, shutdown: ShutdownPart,
                 boot: BootPart, rounds: PushRounds):
        self.core, self.health, self.shutdown, self.rounds = core, health, shutdown, rounds
        self.retries = {Phase.RESTORE_WAIT: boot.on_retry_due, Phase.PUSH_WAIT: rounds.on_retry_due}
        # The parts' state objects are made once with the parts and never replaced, and the
        # config is frozen: held here, deadline() (run after every event) reads them directly.
        self._c, self._hs, self._ss = core.s, health.s, shutdown.s
        self._schedule = core.config.schedule

    def on_timer(self, ev: TimerFired, out) -> None:
        now, c = ev.now, self._c
        self.health.on_timer(now, out)
        if c.retry_at is not None and now >= c.retry_at:
            c.retry_at = None
            retry = self.retries.get(c.phase)
            if retry is not None:
                retry(now, out)
        if c.next_tick_at is not None and now >= c.next_tick_at:
            c.next_tick_at = self._schedule.next_after(now)
            self.rounds.on_schedule(now, out)

    def deadline(self) -> float | None:
        """The earliest of the retry, the next probe, and the flush's budget or the
        schedule's tick (no new rounds start while flushing)."""
        c, ss = self._c, self._ss
        deadline = c.retry_at
        probe = self._hs.next_at
        if probe is not None and (deadline is None or probe < deadline):
            deadline = probe
        last = ss.deadline if ss.stopping else c.next_tick_at
        if last is not None and (deadline is None or last < deadline):
            deadline = last
        return deadline


class EngineMachine:
    __slots__ = ("config", "_core", "_wal", "_health", "_shutdown", "_rounds", "_boot", "_timers",
                 "_routes", "_waiting", "_c", "_hs", "_ss", "_deadline")

    def __init__(self, config: EngineConfig, rng: random.Random):
        self.config = config
        core = self._core = EngineCore(config, rng)
        self._wal = WalPart(core)
        health = self._health = HealthPart(core)
        shutdown = self._shutdown = ShutdownPart(core)
        rounds = self._rounds = PushRounds(core, shutdown)
        boot = self._boot = BootPart(core, health, rounds)
        self._timers = Timers(core, health, shutdown, boot, rounds)
        self._routes = _resolve(_PLAN, (self._wal, health, rounds, boot, self._timers))
        self._waiting: float | None = None
        # handle() runs per event: the parts' state objects (made once, never replaced) and the
        # deadline are held here rather than reached through the parts each time.
        self._c, self._hs, self._ss = core.s, health.s, shutdown.s
        self._deadline = self._timers.deadline

    # ------------------------------------------------------------ entry points

    def handle(self, event) -> list:
        out: list = []
        c = self._c
        phase = c.phase
        if phase is _EXITED:
            return out
        kind = type(event)
        if (kind is Response or kind is NetworkError) and event.token == self._hs.token:
            self._health.on_answer(event, out)
        else:
            handler = self._routes[phase].get(kind)
            if handler is None:
                out.append(Log("debug", f"ignored {kind.__name__} while {phase.value}"))
            else:
                handler(event, out)
        if c.phase is _EXITED:
            self._waiting = None
            return out
        if self._ss.stopping:
            self._shutdown.check_budget(event.now, out)
            if c.phase is _EXITED:
                self._waiting = None
                return out
        deadline = self._deadline()
        if deadline is not None and deadline != self._waiting:
            out.append(WaitUntil(deadline))
        self._waiting = deadline
        return out

    def next_deadline(self) -> float | None:
        """When the machine next wants a TimerFired: the deadline of its last
        WaitUntil, None when it waits for nothing (not booted yet, exited)."""
        return self._waiting

    def status(self) -> dict:
        """A read-only summary for /status (and the fleet view)."""
        c, r = self._core.s, self._rounds.s
        d = c.persisted.durable
        return {"phase": c.phase.value, "lsn": c.lsn, "epoch": c.persisted.epoch,
                "cursor": str(d) if d else None, "durable_lsn": d.seq if d else 0,
                "unacknowledged_writes": c.lsn - (d.seq if d else 0),
                "buffered_bytes": r.buffered.size if r.buffered else 0,
                "last_push": r.last_push, "health": self._health.s.status, "alerts": c.alerts,
                "stopping": self._shutdown.s.stopping, "round": r.round,
                "learned_max_payload": c.persisted.max_payload,
                "force_full": c.persisted.force_full, "next_tick_at": c.next_tick_at,
                "retry_at": c.retry_at, "boot": dict(self._boot.s.boot)}

    # ------------------------------------------------------------ read-only views

    @property
    def phase(self) -> Phase:
        return self._core.s.phase

    @property
    def state(self) -> PersistState:
        """What persist.json holds now."""
        return self._core.s.persisted

    @property
    def lsn(self) -> int:
        return self._core.s.lsn

    @property
    def next_tick_at(self) -> float | None:
        return self._core.s.next_tick_at

    @property
    def retry_at(self) -> float | None:
        return self._core.s.retry_at

    @property
    def stopping(self) -> bool:
        return self._shutdown.s.stopping

    @property
    def stop_deadline(self) -> float | None:
        return self._shutdown.s.deadline

    @property
    def health(self) -> str:
        return self._health.s.status

    @property
    def restore_attempts(self) -> int:
        return self._boot.s.attempts

    def unacknowledged(self) -> list[int] | None:
        """[first, last] lsn of the writes not acknowledged yet, None if none."""
        return self._core.unacknowledged()


def _plan(transitions: dict, part_classes) -> dict:
    """{phase: ((event type, part class, handler function), ...)}: the table with
    phase None spread over every phase that does not route that event type itself,
    and each handler's part class found once, at import."""
    def owner(fn):
        return next(cls for cls in part_classes if vars(cls).get(fn.__name__) is fn)

    plan = {}
    for phase in Phase:
        table = {kind: fn for (p, kind), fn in transitions.items() if p is None}
        table.update({kind: fn for (p, kind), fn in transitions.items() if p is phase})
        plan[phase] = tuple((kind, owner(fn), fn) for kind, fn in table.items())
    return plan


def _resolve(plan: dict, parts) -> dict:
    """{phase: {event type: bound handler}} for these part instances (per machine:
    one dict lookup per event, no attribute look-up of the handler)."""
    by_class = {type(part): part for part in parts}
    bound = {fn: fn.__get__(by_class[cls]) for routes in plan.values() for _, cls, fn in routes}
    return {phase: {kind: bound[fn] for kind, _, fn in routes} for phase, routes in plan.items()}


_EXITED = Phase.EXITED
_BEFORE_SERVING = (Phase.BOOTING, Phase.RESTORING, Phase.RESTORE_WAIT)

# (phase, event type) -> handler; phase None matches every phase not listed.
TRANSITIONS = {
    (Phase.BOOTING, Booted): BootPart.on_booted,
    (Phase.RESTORING, Response): BootPart.on_restore_answer,
    (Phase.RESTORING, NetworkError): BootPart.on_restore_answer,
    (Phase.RESTORING, Restored): BootPart.on_restored,
    **{(phase, Sigterm): BootPart.on_sigterm for phase in _BEFORE_SERVING},
    (Phase.IDLE, Tick): PushRounds.on_tick,
    (Phase.CUTTING, PayloadBuilt): PushRounds.on_built,
    (Phase.CUTTING, PayloadFailed): PushRounds.on_build_failed,
    (Phase.PUSHING, Response): PushRounds.on_push_answer,
    (Phase.PUSHING, NetworkError): PushRounds.on_push_answer,
    (None, Tick): PushRounds.on_busy_tick,
    (None, Wrote): WalPart.on_wrote,
    (None, TimerFired): Timers.on_timer,
    (None, Sigterm): PushRounds.on_sigterm,
}
_PLAN = _plan(TRANSITIONS, (WalPart, HealthPart, PushRounds, BootPart, Timers))
