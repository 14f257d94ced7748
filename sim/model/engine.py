"""One engine pod on virtual time: the real EngineMachine, its effects carried out without I/O.

As engines_fake/driver.py does for the live engine, `Pod` turns the world
into machine events and carries out the machine's effects (EXECUTORS, one
small method per effect type), queueing events raised while effects run so the
machine is never re-entered. It decides nothing about persistence. Differences
from the live driver, all of them I/O:

- writes are a rate process: the writes due since the last look are counted
  when the pod next hands the machine an event (one Wrote carrying their count
  and bytes), so a quiet month costs one event per tick, not one per write;
- a Cut is priced, not built: a delta of n writes and a full of the state's
  distinct keys weigh what payloads.profile says for the kind;
- requests go to SimFunction, which answers at once with the event and its
  delay; the pod schedules the event on the SimPy clock (callbacks, no
  process per request);
- timers are records on SimPy's queue, scheduled as its timeouts are; the latest WaitUntil wins.
"""
from __future__ import annotations

import math
import random
from collections import Counter, deque
from dataclasses import dataclass, field, replace

from emulator.protocol.cursor import Cursor
from emulator.protocol.engine_config import EngineConfig
from emulator.protocol.engine_events import (
    Alert, Booted, Buffer, Compact, Cut, Exit, Health, Ledger, Log, NetworkError, PayloadBuilt, PayloadFailed,
    PersistState, Push, Release, Restore, Restored, Save, Serve, Sigterm, StopWrites, Tick,
    TimerFired, WaitUntil, Wrote)
from emulator.protocol.engine_machine import EngineMachine
from engines_fake.kinds import PROFILES

from .function import Caller
from .payloads import distinct_keys, profile


@dataclass
class Volume:
    """A slot's disk: what survives a pod when the volume is kept."""
    lsn: int = 0
    persisted: PersistState = PersistState()
    instance_id: str | None = None     # a generated id is kept on the volume
    keys: int = 0                      # distinct keys in the state (sizes a full)
    wal_from: int = 0                  # the WAL holds records after this lsn (compactions, restores)
    ledger: Counter = field(default_factory=Counter)

    @property
    def empty(self) -> bool:
        return self.lsn == 0 and self.persisted.durable is None


class Workload:
    """Writes at a steady rate plus bursts every so often, from the moment the pod serves."""
    __slots__ = ("rate", "burst", "every", "start", "steady", "bursts")

    def __init__(self, config: EngineConfig, kind: str):
        w = config.workload
        self.rate = PROFILES[kind].default_rate if w.auto else w.rate
        self.burst, self.every = w.burst_writes, w.burst_every_s
        self.start = self.steady = self.bursts = 0

    def due(self, since: float, now: float) -> list[float]:
        """Times of the writes due in (last look, now], oldest first; advances the counters."""
        elapsed = now - since
        times: list[float] = []
        if self.rate > 0:
            upto = int(math.floor(elapsed * self.rate + 1e-9))
            times += [since + k / self.rate for k in range(self.steady + 1, upto + 1)]
            self.steady = max(self.steady, upto)
        if self.burst and self.every > 0:
            upto = int(math.floor(elapsed / self.every + 1e-9))
            for j in range(self.bursts + 1, upto + 1):
                times += [since + j * self.every] * self.burst
            self.bursts = max(self.bursts, upto)
        if len(times) > 1:
            times.sort()
        return times

    def count_due(self, since: float, now: float) -> int:
        """How many writes are due in (last look, now]; advances the counters. Twice per push
        round per engine: comparisons instead of max(), and floor() of a float is an int."""
        elapsed = now - since
        n = 0
        rate = self.rate
        if rate > 0:
            upto = math.floor(elapsed * rate + 1e-9)
            if upto > self.steady:
                n = upto - self.steady
                self.steady = upto
        if self.burst and self.every > 0:
            upto = math.floor(elapsed / self.every + 1e-9)
            if upto > self.bursts:
                n += (upto - self.bursts) * self.burst
                self.bursts = upto
        return n


class Pod:
    """One run of an engine in a slot (a task, a pod)."""

    def __init__(self, world, slot, generation: int, volume: Volume, config: EngineConfig,
                 instance_id: str, caller: Caller):
        self.world, self.slot, self.name = world, slot, slot.name
        self.env = world.env
        self.generation, self.volume, self.config = generation, volume, config
        self.instance_id, self.caller = instance_id, caller
        self.machine = EngineMachine(config, random.Random(f"{world.seed}:{slot.name}:{generation}"))
        self.kind = slot.kind
        self.payload = profile(slot.kind, config.workload.value_bytes, config.compression)
        self._write_bytes = round(self.payload.wal_bytes)  # WAL bytes per write (the profile is frozen)
        self.keyspace = config.workload.keys or PROFILES[slot.kind].default_keys
        self.deletes = config.workload.deletes  # a share of operations deletes: no value, one key less
        self.workload = Workload(config, slot.kind)
        self._state = "starting"        # starting | running | stopping | exited (see state)
        self.accepting = self.served = False
        self.boot: str | None = None
        self.serve_at = 0.0
        self.exit_code: int | None = None
        self.exit_cause: str | None = None
        self.alerts = 0
        self._queue: deque = deque()
        self._draining = False
        self._timer = 0                 # generation of the armed timer: older ones are ignored
        self._sizes: dict[int, int] = {}
        self._witness_writes: bool | None = None

    @property
    def state(self) -> str:
        return self._state

    @state.setter
    def state(self, value: str) -> None:
        """Every change of state goes through here so that the world's count of its pods that
        are starting stays exact (a start's delay is drawn by that count; counting the fleet
        at every start is quadratic in its size). The per-event paths below read _state."""
        old, self._state = self._state, value
        if (old == "starting") != (value == "starting") and self.world.pods.get(self.name) is self:
            self.world.starting_pods += 1 if value == "starting" else -1

    # ---- events in ------------------------------------------------------------------
    @property
    def now(self) -> float:
        return self.env._now  # the per-push-round paths below read env._now directly

    def boot_now(self) -> None:
        v = self.volume
        durable = v.persisted.durable.seq if v.persisted.durable else 0
        self.deliver(Booted(self.now, v.empty, v.lsn, v.persisted,
                            max(0, v.lsn - durable) * self._write_bytes))

    def deliver(self, event) -> None:
        """Hand the machine an event (writes due so far first), then carry out its effects."""
        if self._state == "exited":
            return
        queue = self._queue
        if self._draining:  # raised while effects run: handled by the loop below, after them
            queue.append(event)
            return
        if self.accepting:
            self._count_writes()
        queue.append(event)
        self._draining = True
        handle, executors = self.machine.handle, EXECUTORS
        try:
            while queue:
                ev = queue.popleft()
                if type(ev) is Restored:
                    self._install(ev)
                for effect in handle(ev):
                    executors[type(effect)](self, effect)
                    if self._state == "exited":
                        queue.clear()
                        break
        finally:
            self._draining = False

    def accrue(self) -> None:
        """Count the workload's writes due by now (they happened; the machine learns now)."""
        if not self.accepting or self._draining:
            return
        self._count_writes()

    def _count_writes(self) -> None:
        """accrue() once its caller knows the pod accepts writes and no effects are running
        (deliver does, twice per push round)."""
        if self._witness_writes is None:  # fixed once the slot's record exists (after __init__)
            self._witness_writes = self.world.witness_writes(self)
        if self._witness_writes:
            times = self.workload.due(self.serve_at, self.env._now)
            if times:
                self.write(len(times), times)
        else:
            n = self.workload.count_due(self.serve_at, self.env._now)
            if n:
                self.write(n, None)

    def write(self, n: int, times: list[float] | None) -> None:
        v = self.volume
        first = v.lsn + 1
        lsn = v.lsn = v.lsn + n
        v.keys = distinct_keys(n, self.keyspace, v.keys, self.deletes)
        self.world.note_writes(self, first, lsn, times)
        for effect in self.machine.handle(Wrote(self.env._now, lsn, n * self._write_bytes)):
            EXECUTORS[type(effect)](self, effect)

    def burst(self, n: int) -> bool:
        """A write burst through the data API (a step): False when the pod refuses writes."""
        if not self.accepting:
            return False
        self.accrue()
        self.write(n, [self.now] * n if self.world.witness_writes(self) else None)
        return True

    def _install(self, ev: Restored) -> None:
        v = self.volume
        v.lsn = ev.lsn
        v.keys = distinct_keys(ev.lsn, self.keyspace, 0, self.deletes)
        v.wal_from = ev.lsn  # a restored state starts an empty WAL (as the live volume's install)

    def sigterm(self) -> None:
        self.deliver(Sigterm(self.now))

    def kill(self) -> None:
        """SIGKILL: writes until now are on the volume; nothing else happens."""
        self.accrue()
        self.accepting = False
        self.state, self._timer = "exited", self._timer + 1

    # ---- effects out --------------------------------------------------------------
    def _serve(self, e: Serve) -> None:
        self.accepting = self.served = True
        self.state, self.boot, self.serve_at = "running", e.boot, self.now
        self.world.pod_served(self, e)

    def _answer(self, token: int, timeout_s: float, answer) -> None:
        """Deliver the function's answer (stamped with its arrival time) after its delay, or a
        timeout when that is longer than the request waits, unless the pod is gone by then."""
        event, delay = answer
        if delay > timeout_s:
            event, delay = NetworkError(token, self.now + timeout_s, f"timed out after {timeout_s:g} s"), timeout_s
        self.world.call(delay, _Arrival(self, event))

    def _restore(self, e: Restore) -> None:
        fn = self.world.function
        fn.now = self.now
        local = 0 if self.volume.empty else self.volume.lsn
        self._answer(e.token, e.timeout_s, fn.restore(self.caller, e.token, takeover=e.takeover,
                                                      local_lsn=local))

    def _health(self, e: Health) -> None:
        fn = self.world.function
        fn.now = self.now
        self._answer(e.token, e.timeout_s, fn.health(self.caller, e.token))

    def _cut(self, e: Cut) -> None:
        if e.kind == "full":
            size = self.payload.full(self.volume.keys)
        elif e.cursor_from.seq < self.volume.wal_from:
            # A compaction the machine asked for while the cursor it kept was older (a push in
            # flight, say) dropped part of the range: as the live driver, fail the cut so the
            # machine cuts a full instead.
            self._queue.append(PayloadFailed(e.token, self.now, "WAL no longer holds the range",
                                             wal_missing=True))
            return
        else:
            ops = e.cursor_to.seq - e.cursor_from.seq
            size = self.payload.delta(round(ops * (1 - self.deletes)) if self.deletes else ops)
        self._sizes[e.token] = size
        self._queue.append(PayloadBuilt(e.token, self.env._now, size))

    def _push(self, e: Push) -> None:
        fn = self.world.function
        fn.now = self.env._now  # (self.now without the property's call: once per push)
        # The same payload (a retry of this flight) has the same checksum; another cut has another.
        checksum = f"{self.generation}:{e.token}:{e.cursor_to.epoch}:{e.cursor_to.seq}:{e.offset}:{e.length}"
        self._answer(e.token, e.timeout_s, fn.persist(
            self.caller, e.token, kind=e.kind, cursor_from=e.cursor_from, cursor_to=e.cursor_to,
            part=e.part, length=e.length, checksum=checksum))

    def _compact(self, e: Compact) -> None:
        """Fold the WAL into the snapshot, keeping records after `retain_after` (those it still has)."""
        if e.retain_after > self.volume.wal_from:
            self.volume.wal_from = e.retain_after

    def _release(self, e: Release) -> None:
        self._sizes.pop(e.token, None)

    def _save(self, e: Save) -> None:
        self.volume.persisted = e.state

    def _ledger(self, e: Ledger) -> None:
        self.volume.ledger[e.event] += 1
        if e.event == "ack":
            f = e.fields
            self.world.note_ack(self, f["lsn_to"], f.get("bytes"), f.get("kind"))

    def _stop_writes(self, e: StopWrites) -> None:
        self.accepting = False
        self.world.pod_leaves(self)

    def _wait_until(self, e: WaitUntil) -> None:
        self._timer += 1
        delay = e.deadline - self.env._now
        self.world.call(delay, _Alarm(self, self._timer, e.deadline))

    def _alert(self, e: Alert) -> None:
        self.alerts += 1

    def _exit(self, e: Exit) -> None:
        self.accepting = False
        self.state, self.exit_code, self._timer = "exited", e.code, self._timer + 1
        delay = self.world.options.stop_delay_s if self.exit_cause == "stopped" else 0.0
        if delay > 0:  # a stopped process takes a moment to exit after its last push (calibration)
            self.world.at(delay, lambda _: self.world.pod_exited(self, e.code))
        else:
            self.world.pod_exited(self, e.code)

    def _nothing(self, e) -> None:
        return None


class _Arrival:
    """An answer reaching its pod, scheduled by World.call (as World.at schedules a function),
    with the pod and the event on the record rather than in a closure made per request."""
    __slots__ = ("callbacks", "_ok", "pod", "event")

    def __init__(self, pod: Pod, event):
        self.callbacks, self._ok, self.pod, self.event = [_arrive], True, pod, event


def _arrive(call: _Arrival) -> None:
    pod = call.pod
    if pod._state != "exited":
        pod.deliver(call.event)


class _Alarm:
    """A WaitUntil's timer (as _Arrival): it fires a TimerFired unless a later WaitUntil
    (a newer timer generation) or the pod's exit superseded it."""
    __slots__ = ("callbacks", "_ok", "pod", "timer", "deadline")

    def __init__(self, pod: Pod, timer: int, deadline: float):
        self.callbacks, self._ok = [_ring], True
        self.pod, self.timer, self.deadline = pod, timer, deadline


def _ring(call: _Alarm) -> None:
    pod = call.pod
    if pod._timer == call.timer and pod._state != "exited":
        now, deadline = pod.env._now, call.deadline
        pod.deliver(TimerFired(deadline if deadline > now else now))  # max(now, deadline), as max picks


EXECUTORS = {
    Serve: Pod._serve, Restore: Pod._restore, Health: Pod._health, Cut: Pod._cut, Push: Pod._push,
    Release: Pod._release, Buffer: Pod._nothing, Save: Pod._save, Ledger: Pod._ledger,
    Compact: Pod._compact, StopWrites: Pod._stop_writes, WaitUntil: Pod._wait_until,
    Log: Pod._nothing, Alert: Pod._alert, Exit: Pod._exit,
}

__all__ = ["Pod", "Volume", "Workload", "Cursor", "Tick"]
