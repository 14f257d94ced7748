"""A cluster of real SWIM cores on a virtual network, on a virtual clock.

The cores are `emulator.membership.Membership`, the same objects the live
discovery nodes run; this module only plays the network and the timers.
Every Send is delivered `latency` later unless its sender or receiver is
down, the pair is cut (a partition), or the loss RNG drops it. With
`encode=True` each message goes through the wire format and back, so the
codec is exercised as on UDP; the simulator turns that off for speed (the
cores see the same message objects either way). Timers fire exactly at each
core's `next_deadline()`. All randomness comes from one seed, so a run is
reproducible.

The event loop is its own (a heap of deliveries and one of timers), so the
tests can move the clock by hand (`step`, `run_until`); `sim.discovery`
puts it on a SimPy environment's clock for the simulator.

Pure: no I/O, no clock, no SimPy.
"""
from __future__ import annotations

import heapq
import itertools
import random
from dataclasses import dataclass, field
from typing import Callable, Iterable

from emulator.membership import Member, MemberChanged, Membership, Meta, Send, Status, SwimParams
from emulator.membership import wire

# Timings that keep hand-driven tests short: a 1 s period, no push-pull with
# live members, nothing reaped.
FAST = SwimParams(period=1.0, probe_timeout=0.2, suspicion_timeout=5.0, heartbeat_timeout=3.0,
                  reconnect_interval=10.0, sync_interval=0, reap_after=0)

INF = float("inf")


@dataclass
class Cluster:
    params: SwimParams = FAST
    seed: int = 1
    latency: float = 0.001
    loss: float = 0.0
    now: float = 0.0
    nodes: dict[str, Membership] = field(default_factory=dict)
    down: set[str] = field(default_factory=set)
    cuts: set[frozenset] = field(default_factory=set)
    sent: list[tuple[float, str, Send]] = field(default_factory=list)
    changes: list[tuple[float, str, MemberChanged]] = field(default_factory=list)
    encode: bool = True        # round-trip every message through the wire format
    keep_sent: bool = True     # keep every Send in `sent` (tests read it; long runs should not)
    # Called with (node_id, now) just before a core's timer fires: the simulator
    # uses it to bring hosted members' heartbeats up to date lazily.
    before_timer: Callable[[str, float], None] | None = None

    def __post_init__(self):
        self.rng = random.Random(self.seed)
        self._queue: list = []            # (at, order, source, target, message)
        self._timers: list = []           # (deadline, order, node_id)
        self._armed: dict[str, int] = {}  # node_id -> order of its live timer entry
        self._counter = itertools.count()
        self.delivered = 0
        self.dropped = 0

    @staticmethod
    def addr(node_id: str) -> str:
        return f"sim:{node_id}"

    # ---- membership of the cluster ----------------------------------------

    def add(self, node_id: str, seeds: tuple[str, ...] = (), meta: Meta = Meta()) -> Membership:
        """A new core for `node_id` (a restarted node keeps its id, not its state)."""
        me = Member(node_id, addr=self.addr(node_id), meta=meta)
        core = Membership(me, self.params, random.Random(self.rng.random()), self.now,
                          tuple(self.addr(s) for s in seeds))
        self.nodes[node_id] = core
        self.down.discard(node_id)
        self.touch(node_id)
        return core

    def start(self, n: int, prefix: str = "n") -> list[str]:
        """n nodes that all join through the first one."""
        ids = [f"{prefix}{i}" for i in range(n)]
        for node_id in ids:
            self.add(node_id, seeds=(ids[0],))
        return ids

    def crash(self, node_id: str) -> None:
        """The node stops: no timers, nothing delivered to it, nothing more sent."""
        self.down.add(node_id)
        self._armed.pop(node_id, None)

    def cut(self, a: str, b: str) -> None:
        self.cuts.add(frozenset((a, b)))

    def partition(self, *sides: Iterable[str]) -> None:
        """Cut every pair of nodes on different sides (both directions)."""
        groups = [list(side) for side in sides]
        for i, left in enumerate(groups):
            for right in groups[i + 1:]:
                for a in left:
                    for b in right:
                        self.cut(a, b)

    def heal(self) -> None:
        self.cuts.clear()

    # ---- the event loop ----------------------------------------------------

    def touch(self, node_id: str) -> None:
        """Re-arm the node's timer after anything that may have moved its deadline."""
        core = self.nodes.get(node_id)
        if core is None or node_id in self.down:
            return
        order = next(self._counter)
        self._armed[node_id] = order
        heapq.heappush(self._timers, (core.next_deadline(), order, node_id))

    def execute(self, node_id: str, effects) -> None:
        """Carry out a core's effects: record changes, put sends on the network."""
        for effect in effects:
            if isinstance(effect, MemberChanged):
                self.changes.append((self.now, node_id, effect))
            elif isinstance(effect, Send):
                if self.keep_sent:
                    self.sent.append((self.now, node_id, effect))
                message = wire.encode(effect.message) if self.encode else effect.message
                target = effect.addr.removeprefix("sim:")
                if frozenset((node_id, target)) in self.cuts or (
                        self.loss and self.rng.random() < self.loss):
                    self.dropped += 1
                    continue
                heapq.heappush(self._queue, (self.now + self.latency, next(self._counter),
                                             node_id, target, message))
        self.touch(node_id)

    def _next_timer(self) -> tuple[float, str | None]:
        """The earliest live timer, dropping entries a later touch replaced."""
        timers = self._timers
        while timers:
            deadline, order, node_id = timers[0]
            if self._armed.get(node_id) != order:
                heapq.heappop(timers)
                continue
            actual = self.nodes[node_id].next_deadline()
            if actual != deadline:  # moved by a call that bypassed execute(): re-arm
                heapq.heappop(timers)
                self.touch(node_id)
                continue
            return deadline, node_id
        return INF, None

    def next_event_time(self) -> float:
        message_at = self._queue[0][0] if self._queue else INF
        return min(message_at, self._next_timer()[0])

    def step(self, until: float) -> bool:
        """Run the next event no later than `until`; False when there is none."""
        timer_at, timer_node = self._next_timer()
        message_at = self._queue[0][0] if self._queue else INF
        if min(timer_at, message_at) > until:
            return False
        if message_at <= timer_at:
            at, _, source, target, message = heapq.heappop(self._queue)
            self.now = max(self.now, at)
            if target in self.nodes and target not in self.down:
                self.delivered += 1
                core = self.nodes[target]
                if self.encode:
                    message = wire.decode(message)
                self.execute(target, core.handle_message(message, self.addr(source), self.now))
        else:
            self.now = max(self.now, timer_at)
            if self.before_timer is not None:
                self.before_timer(timer_node, self.now)
            self.execute(timer_node, self.nodes[timer_node].handle_timer(self.now))
        return True

    def run_until(self, t: float) -> None:
        while self.step(t):
            pass
        self.now = max(self.now, t)

    def run_for(self, seconds: float) -> None:
        self.run_until(self.now + seconds)

    def run_until_true(self, predicate, limit: float) -> float | None:
        """Advance until predicate() holds; the time it first held, or None by `limit`."""
        deadline = self.now + limit
        while not predicate():
            if not self.step(deadline):
                self.now = deadline
                return None
        return self.now

    # ---- views ---------------------------------------------------------------

    def status(self, observer: str, node_id: str) -> Status | None:
        member = self.nodes[observer].table.member(node_id)
        return member.status if member else None

    def live(self) -> list[str]:
        return [n for n in self.nodes if n not in self.down]

    def all_see(self, node_id: str, status: Status, observers=None) -> bool:
        observers = observers if observers is not None else [n for n in self.live() if n != node_id]
        return all(self.status(o, node_id) is status for o in observers)

    def converged(self) -> bool:
        live = self.live()
        return all(self.status(o, n) is Status.ALIVE for o in live for n in live)
