"""The engine machine under random event sequences (hypothesis stateful; pure).

A model function answers each push with a random status of seed 000's table
(200, 202, 400, 401, 409, 413 with a limit, 429 with Retry-After, 5xx) or a
network error; the clock, writes, ticks, payload builds, health answers and
SIGTERM come in random order. After every step the invariants hold:

- the durable cursor is only ever a cursor the function acknowledged (200/202
  to the last part of that push), and it never moves backwards;
- an acknowledgement in the ledger follows exactly such an answer;
- no push is sent for a payload that was released, nor more attempts per part
  and round than MAX_RETRIES allows; a delta always starts at the durable cursor;
- after a final flush that exits 0 every write was acknowledged; exit 3 only
  when some were not; after Exit nothing more happens.

Profiles: see test_properties_signing.py (WKP_HYPOTHESIS_PROFILE=wkp-deep).
"""
from __future__ import annotations

import functools
import random

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from emulator.protocol.engine_config import parse_engine_config
from emulator.protocol.engine_events import (
    Booted, Cut, Exit, Health, Ledger, NetworkError, PayloadBuilt, PayloadFailed, Push, Release,
    Response, Restore, Sigterm, Tick, TimerFired, WaitUntil, Wrote)
from emulator.protocol.engine_machine import EngineMachine
from emulator.protocol.engine_core import EXIT_FLUSH_INCOMPLETE, EXIT_OK, Phase

from .test_properties_signing import PROFILE

T0 = 1_000_000.0
STATUSES = [200, 202, 400, 401, 409, 413, 429, 500, 502, 503, None]  # None: a network error


@functools.lru_cache(maxsize=None)
def config(strategy: str, retries: int, on_shutdown: bool):
    """Parsed once per combination: a cron expression is slow to parse, the machine is not."""
    return parse_engine_config({
        "WEFTKIT_PERSIST_MODE": "serverless", "WEFTKIT_PERSIST_ENDPOINT": "https://fn.example",
        "WEFTKIT_PERSIST_SECRET": "s", "WEFTKIT_PERSIST_SCHEDULE": "*/10 * * * * *",
        "WEFTKIT_PERSIST_STRATEGY": strategy, "WEFTKIT_PERSIST_MAX_RETRIES": str(retries),
        "WEFTKIT_PERSIST_ON_SHUTDOWN": str(on_shutdown).lower(),
        "WEFTKIT_PERSIST_HEALTH_INTERVAL": "30", "WEFTKIT_PERSIST_DAY_SECONDS": "25",
        "WEFTKIT_PERSIST_BUFFER_BYTES": "3000"})


class EngineUnderRandomEvents(RuleBasedStateMachine):
    @initialize(strategy=st.sampled_from(["full", "delta", "incremental"]), retries=st.integers(1, 4),
                on_shutdown=st.booleans(), seed=st.integers(0, 2**16))
    def boot(self, strategy, retries, on_shutdown, seed):
        cfg = config(strategy, retries, on_shutdown)
        self.cfg, self.m = cfg, EngineMachine(cfg, random.Random(seed))
        self.now, self.lsn, self.deadline = T0, 0, None
        self.cut = self.push = self.restore = self.health = None
        self.released, self.acked, self.attempts = set(), set(), {}
        self.durable, self.exited, self.just_acked = None, None, None
        self.feed(Booted(self.now, True, 0))
        self.feed(Response(self.restore, self.now, 204))

    def feed(self, event) -> None:
        effects = self.m.handle(event)
        assert self.exited is None or not effects, "a machine that exited acts no more"
        for e in effects:
            self.apply(e)
        self.just_acked = None

    def apply(self, e) -> None:
        if isinstance(e, Cut):
            assert e.token not in self.released
            if e.kind == "delta":
                assert e.cursor_from == self.m.state.durable, "a delta starts at the durable cursor"
            self.cut = e
        elif isinstance(e, Push):
            assert e.token not in self.released, "no push of a released payload"
            key = (e.token, e.part.index if e.part else 1, e.part.count if e.part else 1)
            # attempts count up within a round; a buffered payload starts again at 1 next round
            assert e.attempt in (1, self.attempts.get(key, 0) + 1) and e.attempt <= self.cfg.max_attempts
            self.attempts[key] = e.attempt
            self.push = e
        elif isinstance(e, Restore):
            self.restore = e.token
        elif isinstance(e, Health):
            self.health = e.token
        elif isinstance(e, Release):
            self.released.add(e.token)
        elif isinstance(e, WaitUntil):
            self.deadline = e.deadline
        elif isinstance(e, Ledger) and e.event == "ack":
            assert self.just_acked is not None and e.fields["cursor_to"] == str(self.just_acked)
        elif isinstance(e, Exit):
            self.exited = e

    # ------------------------------------------------------------ the world

    @precondition(lambda self: self.exited is None)
    @rule(n=st.integers(1, 5), nbytes=st.integers(1, 2000))
    def write(self, n, nbytes):
        if self.m.stopping:
            return  # StopWrites: the engine takes no more writes
        for _ in range(n):
            self.lsn += 1
            self.feed(Wrote(self.now, self.lsn, nbytes))

    @rule(dt=st.floats(0, 40))
    def time_passes(self, dt):  # also after Exit: the machine must then stay silent
        self.now += dt
        self.feed(TimerFired(self.now))

    @precondition(lambda self: self.exited is None and self.deadline is not None)
    @rule()
    def timer_fires(self):
        self.now = max(self.now, self.deadline)
        self.feed(TimerFired(self.now))

    @precondition(lambda self: self.exited is None)
    @rule()
    def manual_tick(self):
        self.feed(Tick(self.now))

    @precondition(lambda self: self.exited is None and self.cut is not None)
    @rule(size=st.integers(1, 5000), fails=st.sampled_from([None, None, None, "wal", "io"]))
    def payload_ready(self, size, fails):
        cut, self.cut = self.cut, None
        if fails:
            self.feed(PayloadFailed(cut.token, self.now, fails, wal_missing=fails == "wal"))
        else:
            self.feed(PayloadBuilt(cut.token, self.now, size))

    @precondition(lambda self: self.exited is None and self.push is not None)
    @rule(status=st.sampled_from(STATUSES), limit=st.integers(1, 3000), retry_after=st.floats(0, 90))
    def function_answers(self, status, limit, retry_after):
        push, self.push = self.push, None
        if status is None:
            return self.feed(NetworkError(push.token, self.now, "reset"))
        last_part = push.part is None or push.part.index == push.part.count
        if status in (200, 202) and last_part:
            self.acked.add(push.cursor_to)
            self.just_acked = push.cursor_to
        effects = self.m.handle(Response(push.token, self.now, status,
                                         max_payload=limit if status == 413 else None,
                                         retry_after=retry_after if status == 429 else None))
        assert self.exited is None or not effects
        for e in effects:
            self.apply(e)
        self.just_acked = None

    @precondition(lambda self: self.exited is None and self.health is not None)
    @rule(status=st.sampled_from([200, 503, None]))
    def health_answers(self, status):
        token, self.health = self.health, None
        self.feed(NetworkError(token, self.now, "down") if status is None else Response(token, self.now, status))

    @precondition(lambda self: self.exited is None)
    @rule(now=st.integers(0, 7))
    def sigterm(self, now):
        if now == 0:  # rarely: a run should have several rounds before its final flush
            self.feed(Sigterm(self.now))

    @precondition(lambda self: self.exited is None)
    @rule()
    def stale_answer(self):
        """A late answer to an abandoned request is ignored."""
        before = self.m.state
        self.feed(Response(10**9, self.now, 200))
        assert self.m.state == before

    # ------------------------------------------------------------ invariants

    @invariant()
    def durable_is_only_what_the_function_acknowledged(self):
        durable = self.m.state.durable
        assert durable is None or durable in self.acked
        assert durable is None or durable.seq <= self.lsn
        if self.durable is not None:
            assert durable is not None and durable >= self.durable, "the durable cursor never goes back"
        self.durable = durable

    @invariant()
    def exits_tell_the_truth(self):
        if self.exited is None or not self.m.stopping:
            return
        unacked = self.m.unacknowledged()
        if self.exited.code == EXIT_OK:
            assert unacked is None, "exit 0 after a flush means every write was acknowledged"
        else:
            assert self.exited.code == EXIT_FLUSH_INCOMPLETE and unacked is not None

    @invariant()
    def phase_matches_what_is_outstanding(self):
        if self.m.phase is Phase.PUSHING:
            assert self.push is not None
        if self.m.phase is Phase.CUTTING:
            assert self.cut is not None


EngineUnderRandomEvents.TestCase.settings = settings(PROFILE, max_examples=PROFILE.max_examples,
                                                     stateful_step_count=40)
TestEngineUnderRandomEvents = EngineUnderRandomEvents.TestCase
