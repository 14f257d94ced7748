"""Warm function instances, the way Lambda and OpenWhisk run them (seed 002): a pure pool.

A platform keeps the container that served a request around for a while in
case the function is called again: its memory and its /tmp survive between
*its own* invocations, and nowhere else. The pool decides, for each request,
which instance serves it:

- a warm instance with room (an idle one, or, when one instance serves several
  requests at once, a busy one below its `per_instance_concurrency`);
- else a new instance, a *cold start*, ready `cold_start_s` later, when fewer
  than `limit` instances are live;
- else `Throttled` (the caller answers 429 with Retry-After).

Idle instances are reaped `keep_alive_s` after their last request ended.
No I/O and no clock: every call takes `now` (seconds, any origin, never
decreasing), so the live function host (emulator/function/instances.py) and
the simulator drive the same rules, one with a monotonic clock and one with
virtual time.

Choices, and why:
- among idle instances the most recently used serves (a stack): the others
  age out and are reaped, so the pool shrinks back after a burst the way real
  platforms' pools do, and a steady trickle keeps exactly one instance warm;
- with several requests per instance, a busy instance with room is packed
  before an idle one is woken (Cloud Run and Azure fill instances);
- an instance past its keep-alive is never handed out even before `reap`
  runs: it is dead to the platform already. When the limit is reached and such
  an instance is in the way, it is evicted at once; `reap` still reports it,
  so the caller deletes its /tmp.
- ids are "i-1", "i-2", ... in order of creation, never reused: a reaped
  instance's memory is gone, and a new one must not look like it.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

# Steering, the emulator's extension (docs/functions.md): a request carrying
# `X-Wkp-Emu-Instance: new` asks for a new instance, `X-Wkp-Emu-Instance: i-3`
# for that one; every answer names its instance in the same header, and a cold
# start adds `X-Wkp-Emu-Cold: 1`. The function host and the conformance kit share
# these names; a function without instances ignores the header.
INSTANCE_HEADER = "X-Wkp-Emu-Instance"
COLD_HEADER = "X-Wkp-Emu-Cold"
NEW_INSTANCE = "new"


@dataclass(frozen=True)
class Grant:
    """Serve the request on `instance_id`, from `ready_at` (later than now during a cold start)."""
    instance_id: str
    cold: bool
    ready_at: float


@dataclass(frozen=True)
class Throttled:
    """Every instance is at capacity and the limit is reached: 429, retry after this."""
    retry_after_s: float


@dataclass(frozen=True)
class PoolCounters:
    cold_starts: int
    warm_hits: int
    throttles: int
    reaped: int
    live: int      # instances alive now (busy or idle, starting included)
    busy: int      # instances serving at least one request
    inflight: int  # requests being served


@dataclass(eq=False)  # identity: the idle deque finds an instance by itself, not its fields
class _Instance:
    id: str
    ready_at: float
    inflight: int = 0
    idle_since: float = 0.0
    invocations: int = 0


@dataclass(frozen=True)
class InstanceView:
    """One instance, as the control surface and /metrics show it."""
    instance_id: str
    inflight: int
    invocations: int
    idle_since: float | None   # None while busy
    ready_at: float


@dataclass
class InstancePool:
    limit: int = 1
    per_instance_concurrency: int = 1
    keep_alive_s: float | None = 600.0   # None: never reaped for being idle
    cold_start_s: float = 0.0
    retry_after_s: float = 1.0
    _instances: dict = field(default_factory=dict, init=False, repr=False)  # id -> _Instance
    _idle: deque = field(default_factory=deque, init=False, repr=False)     # oldest idle first
    _open: dict = field(default_factory=dict, init=False, repr=False)       # busy with room, by id
    _evicted: list = field(default_factory=list, init=False, repr=False)    # reaped, not yet reported
    _next_id: int = field(default=1, init=False, repr=False)
    _now: float = field(default=float("-inf"), init=False, repr=False)
    cold_starts: int = field(default=0, init=False)
    warm_hits: int = field(default=0, init=False)
    throttles: int = field(default=0, init=False)
    reaped: int = field(default=0, init=False)
    _inflight: int = field(default=0, init=False, repr=False)

    def __post_init__(self):
        if self.limit < 1:
            raise ValueError(f"limit must be at least 1, got {self.limit}")
        if self.per_instance_concurrency < 1:
            raise ValueError(f"per_instance_concurrency must be at least 1, got {self.per_instance_concurrency}")
        if self.keep_alive_s is not None and self.keep_alive_s < 0:
            raise ValueError(f"keep_alive_s must be >= 0, got {self.keep_alive_s}")
        if self.cold_start_s < 0 or self.retry_after_s < 0:
            raise ValueError("cold_start_s and retry_after_s must be >= 0")

    # ---- the three moves -------------------------------------------------------

    def acquire(self, now: float, *, fresh: bool = False, prefer: str | None = None,
                cold_start_s: float | None = None) -> Grant | Throttled:
        """Pick the instance for a request arriving at `now`.

        `fresh` asks for a new instance even if a warm one has room (the
        conformance kit's "a restore on an instance that never saw the
        pushes"); `prefer` asks for that instance if it is alive and has room.
        Either is a wish the limit still bounds: at the limit, `fresh` evicts
        the oldest idle instance to make room, or is throttled if none is idle.
        `cold_start_s` replaces the pool's delay for an instance this call
        starts (a simulator samples each cold start from a distribution).
        """
        self._advance(now)
        if prefer is not None:
            chosen = self._instances.get(prefer)
            if chosen is not None and chosen.inflight < self.per_instance_concurrency \
                    and not self._expired(chosen, now):
                return self._hand_out(chosen, now)
        if not fresh:
            chosen = self._warm(now)
            if chosen is not None:
                return self._hand_out(chosen, now)
        if len(self._instances) >= self.limit:
            self._evict_expired(now)
        if len(self._instances) >= self.limit and fresh and self._idle:
            self._evict(self._idle[0])
        if len(self._instances) >= self.limit:
            self.throttles += 1
            return Throttled(self.retry_after_s)
        return self._start(now, self.cold_start_s if cold_start_s is None else cold_start_s)

    def release(self, instance_id: str, now: float) -> None:
        """The request on `instance_id` ended at `now` (answered, failed or cut off alike)."""
        self._advance(now)
        inst = self._instances.get(instance_id)
        if inst is None or inst.inflight == 0:
            raise KeyError(f"instance {instance_id!r} has no request to release")
        inst.inflight -= 1
        self._inflight -= 1
        if inst.inflight == 0:
            self._open.pop(inst.id, None)
            inst.idle_since = now
            self._idle.append(inst)
        else:
            self._open[inst.id] = inst

    def reap(self, now: float) -> list[str]:
        """Instances gone by `now` (idle past the keep-alive, or evicted): their memory and
        /tmp must be dropped. Each id is reported once."""
        self._advance(now)
        self._evict_expired(now)
        gone, self._evicted = self._evicted, []
        return gone

    def reap_idle(self, now: float) -> list[str]:
        """Reap every idle instance now, whatever its keep-alive (an operator's or a
        test's steer: "the platform recycled its instances")."""
        self._advance(now)
        while self._idle:
            self._evict(self._idle[0])
        return self.reap(now)

    def next_deadline(self) -> float | None:
        """When `reap` next has something to do; None when no idle instance can expire."""
        if self._evicted:
            return self._now
        if not self._idle or self.keep_alive_s is None:
            return None
        return self._idle[0].idle_since + self.keep_alive_s

    # ---- views ---------------------------------------------------------------

    @property
    def counters(self) -> PoolCounters:
        busy = sum(1 for i in self._instances.values() if i.inflight)
        return PoolCounters(self.cold_starts, self.warm_hits, self.throttles, self.reaped,
                            len(self._instances), busy, self._inflight)

    @property
    def live(self) -> int:
        return len(self._instances)

    def instances(self) -> list[InstanceView]:
        return [InstanceView(i.id, i.inflight, i.invocations, None if i.inflight else i.idle_since,
                             i.ready_at) for i in self._instances.values()]

    def __contains__(self, instance_id: str) -> bool:
        return instance_id in self._instances

    # ---- internals -----------------------------------------------------------

    def _advance(self, now: float) -> None:
        if now < self._now:
            raise ValueError(f"time went back: {now} after {self._now}")
        self._now = now

    def _expired(self, inst: _Instance, now: float) -> bool:
        return (inst.inflight == 0 and self.keep_alive_s is not None
                and now >= inst.idle_since + self.keep_alive_s)

    def _warm(self, now: float) -> _Instance | None:
        if self._open:  # pack the most recently opened busy instance with room
            return self._open[next(reversed(self._open))]
        while self._idle:
            inst = self._idle[-1]  # the most recently used
            if not self._expired(inst, now):
                return inst
            # the newest idle one is past its keep-alive, so every idle one is
            self._evict_expired(now)
        return None

    def _hand_out(self, inst: _Instance, now: float) -> Grant:
        if inst.inflight == 0:
            self._unidle(inst)
        inst.inflight += 1
        inst.invocations += 1
        self._inflight += 1
        self._note_room(inst)
        self.warm_hits += 1
        return Grant(inst.id, False, max(now, inst.ready_at))

    def _start(self, now: float, cold_start_s: float) -> Grant:
        inst = _Instance(f"i-{self._next_id}", ready_at=now + cold_start_s, inflight=1, invocations=1)
        self._next_id += 1
        self._instances[inst.id] = inst
        self._inflight += 1
        self._note_room(inst)
        self.cold_starts += 1
        return Grant(inst.id, True, inst.ready_at)

    def _note_room(self, inst: _Instance) -> None:
        if inst.inflight < self.per_instance_concurrency:
            self._open[inst.id] = inst
        else:
            self._open.pop(inst.id, None)

    def _evict_expired(self, now: float) -> None:
        while self._idle and self._expired(self._idle[0], now):
            self._evict(self._idle[0])

    def _unidle(self, inst: _Instance) -> None:
        # the usual picks are the ends (newest to serve, oldest to reap): O(1)
        if self._idle[-1] is inst:
            self._idle.pop()
        elif self._idle[0] is inst:
            self._idle.popleft()
        else:
            self._idle.remove(inst)

    def _evict(self, inst: _Instance) -> None:
        self._unidle(inst)
        del self._instances[inst.id]
        self._evicted.append(inst.id)
        self.reaped += 1
