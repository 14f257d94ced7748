"""What every part of the engine machine shares: the phase, the persisted state,
the WAL's counters and the two timers more than one part sets.

The machine (engine_machine.py) is composed of parts, each a class with its own
declared state: this core, the WAL (engine_wal.py), health probes
(engine_health.py), the shutdown budget (engine_shutdown.py), push rounds
(engine_rounds.py) and boot/restore (engine_boot.py). A part reads and writes
only its own state and this core's, and calls the parts it is given when
built; nothing is reached through an undeclared attribute.
"""
from __future__ import annotations

import enum
import random
from dataclasses import dataclass

from .engine_config import EngineConfig
from .engine_events import Alert, Exit, PersistState, Save
from .engine_policy import Outcome, retry_delay

EXIT_OK, EXIT_FLUSH_INCOMPLETE, EXIT_RESTORE_FAILED = 0, 3, 4


class Phase(enum.Enum):
    BOOTING = "booting"
    RESTORING = "restoring"
    RESTORE_WAIT = "restore_wait"
    IDLE = "idle"
    CUTTING = "cutting"
    PUSHING = "pushing"
    PUSH_WAIT = "push_wait"
    EXITED = "exited"

    # Members are singletons compared by identity; hashing by identity in C keeps
    # the machine's per-event route lookup off Enum.__hash__ (a Python call).
    __hash__ = object.__hash__


@dataclass(slots=True)
class CoreState:
    phase: Phase = Phase.BOOTING
    persisted: PersistState = PersistState()   # what persist.json holds (Save writes it)
    lsn: int = 0                               # the newest write's lsn
    unpushed_bytes: int = 0                    # WAL bytes after the durable cursor
    next_tick_at: float | None = None          # the schedule's next push round
    retry_at: float | None = None              # a restore's or a push's next attempt
    alerts: int = 0
    last_token: int = 0                        # tokens name I/O effects and their answers


class EngineCore:
    __slots__ = ("config", "rng", "s")

    def __init__(self, config: EngineConfig, rng: random.Random):
        self.config, self.rng, self.s = config, rng, CoreState()

    def token(self) -> int:
        self.s.last_token += 1
        return self.s.last_token

    def save(self, persisted: PersistState, out) -> None:
        self.s.persisted = persisted
        out.append(Save(persisted))

    def alert(self, kind: str, message: str, out) -> None:
        self.s.alerts += 1
        out.append(Alert(kind, message))

    def delay(self, outcome: Outcome, attempt: int, retry_after) -> float:
        cfg = self.config
        return retry_delay(outcome, attempt, retry_after, base=cfg.backoff_base_s,
                           cap=cfg.backoff_cap_s, rng=self.rng)

    def exit(self, code: int, reason: str, out) -> None:
        s = self.s
        s.phase = Phase.EXITED
        s.retry_at = s.next_tick_at = None
        out.append(Exit(code, reason))

    def unacknowledged(self) -> list[int] | None:
        """[first, last] lsn of the writes the function has not acknowledged."""
        durable = self.s.persisted.durable
        seq = durable.seq if durable else 0
        return [seq + 1, self.s.lsn] if self.s.lsn > seq else None
