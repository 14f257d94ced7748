"""An engine machine driven by hand: the simulator's smallest harness (no SimPy, no I/O).

`MachineRun` plays the driver the way the simulator's pods do, but step by
step for a test or an experiment: it feeds events with a clock the caller
moves, remembers the token of the last I/O effect so an answer can be given
to it, and keeps every effect in `log`. The engine machine's unit tests
(tests/unit/test_engine_machine.py) drive the machine through it.
"""
from __future__ import annotations

import random

from emulator.protocol.engine_config import parse_engine_config
from emulator.protocol.engine_events import (Booted, Cut, Health, PayloadBuilt, PersistState, Push,
                                             Response, Restore, TimerFired, Wrote)
from emulator.protocol.engine_machine import EngineMachine

T0 = 1_000_000.0  # a multiple of 10: ticks of "*/10 * * * * *" fall on T0 + 10k


def of(effects, kind):
    return [e for e in effects if isinstance(e, kind)]


class MachineRun:
    """`MachineRun(seed, **settings)`: settings are WEFTKIT_PERSIST_* without the prefix
    (`schedule="*/2 * * * * *"`, `max_retries=3`); the endpoint is a placeholder and
    the health probe is off unless `health_interval` is given."""

    def __init__(self, seed=7, **env):
        settings = {"WEFTKIT_PERSIST_MODE": "serverless",
                    "WEFTKIT_PERSIST_ENDPOINT": "https://fn.example",
                    "WEFTKIT_PERSIST_SECRET": "s", "WEFTKIT_PERSIST_SCHEDULE": "*/10 * * * * *",
                    "WEFTKIT_PERSIST_HEALTH_INTERVAL": "0"}
        settings.update({f"WEFTKIT_PERSIST_{k.upper()}": str(v) for k, v in env.items()})
        self.cfg = parse_engine_config(settings)
        self.m = EngineMachine(self.cfg, random.Random(seed))
        self.now, self.lsn = T0, 0
        self.token = self.health = None
        self.log: list = []

    def feed(self, event) -> list:
        effects = self.m.handle(event)
        self.log.extend(effects)
        for e in effects:
            if isinstance(e, (Push, Restore, Cut)):
                self.token = e.token
            if isinstance(e, Health):
                self.health = e.token
        return effects

    def boot(self, *, empty=True, lsn=0, persisted=PersistState(), answer=204):
        effects = self.feed(Booted(self.now, empty, lsn, persisted))
        self.lsn = lsn
        if of(effects, Restore) and answer is not None:
            effects += self.feed(Response(self.token, self.now, answer))
        return effects

    def write(self, n=1, nbytes=100):
        effects = []
        for _ in range(n):
            self.lsn += 1
            effects += self.feed(Wrote(self.now, self.lsn, nbytes))
        return effects

    def at(self, t):
        self.now = t
        return self.feed(TimerFired(t))

    def next_tick(self):
        return self.at(self.m.next_tick_at)

    def built(self, size=1000):
        return self.feed(PayloadBuilt(self.token, self.now, size))

    def answer(self, status, **kw):
        return self.feed(Response(self.token, self.now, status, **kw))

    def ack(self, cursor=None):
        return self.answer(200, cursor=cursor, stored_at=self.now)

    def push_round(self, size=1000):
        """Tick, build and acknowledge one push; returns the Cut."""
        effects = self.next_tick()
        cuts = of(effects, Cut)
        assert len(cuts) == 1, f"expected one Cut in {effects}"
        self.built(size)
        self.ack()
        return cuts[0]
