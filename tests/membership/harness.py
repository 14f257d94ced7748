"""A cluster of SWIM cores joined without a network, on a hand-moved clock.

Every Send is encoded and decoded (so the wire format is exercised) and
delivered `latency` later unless the node is down, the pair is cut, or the
loss RNG drops it. Timers fire exactly at each core's next_deadline(). All
randomness comes from one seed, so a run is reproducible.
"""
from __future__ import annotations

import heapq
import itertools
import random
from dataclasses import dataclass, field

from emulator.membership import Member, MemberChanged, Membership, Meta, Send, Status, SwimParams
from emulator.membership import wire

FAST = SwimParams(period=1.0, probe_timeout=0.2, suspicion_timeout=5.0, heartbeat_timeout=3.0,
                  reconnect_interval=10.0, sync_interval=0, reap_after=0)


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

    def __post_init__(self):
        self.rng = random.Random(self.seed)
        self._queue: list = []
        self._counter = itertools.count()

    @staticmethod
    def addr(node_id: str) -> str:
        return f"sim:{node_id}"

    def add(self, node_id: str, seeds: tuple[str, ...] = (), meta: Meta = Meta()) -> Membership:
        me = Member(node_id, addr=self.addr(node_id), meta=meta)
        core = Membership(me, self.params, random.Random(self.rng.random()), self.now,
                          tuple(self.addr(s) for s in seeds))
        self.nodes[node_id] = core
        self.down.discard(node_id)
        return core

    def start(self, n: int, prefix: str = "n") -> list[str]:
        """n nodes that all join through the first one."""
        ids = [f"{prefix}{i}" for i in range(n)]
        for node_id in ids:
            self.add(node_id, seeds=(ids[0],))
        return ids

    def execute(self, node_id: str, effects) -> None:
        for effect in effects:
            if isinstance(effect, MemberChanged):
                self.changes.append((self.now, node_id, effect))
            elif isinstance(effect, Send):
                self.sent.append((self.now, node_id, effect))
                data = wire.encode(effect.message)
                target = effect.addr.removeprefix("sim:")
                if frozenset((node_id, target)) in self.cuts or self.rng.random() < self.loss:
                    continue
                heapq.heappush(self._queue, (self.now + self.latency, next(self._counter),
                                             node_id, target, data))

    def step(self, until: float) -> bool:
        """Run the next event no later than `until`; False when there is none."""
        timers = [(core.next_deadline(), node_id) for node_id, core in self.nodes.items()
                  if node_id not in self.down]
        timer = min(timers) if timers else (float("inf"), None)
        message_at = self._queue[0][0] if self._queue else float("inf")
        if min(timer[0], message_at) > until:
            return False
        if message_at <= timer[0]:
            at, _, source, target, data = heapq.heappop(self._queue)
            self.now = max(self.now, at)
            if target in self.nodes and target not in self.down:
                core = self.nodes[target]
                self.execute(target, core.handle_message(wire.decode(data), self.addr(source),
                                                         self.now))
        else:
            self.now = max(self.now, timer[0])
            self.execute(timer[1], self.nodes[timer[1]].handle_timer(self.now))
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

    def crash(self, node_id: str) -> None:
        self.down.add(node_id)

    def cut(self, a: str, b: str) -> None:
        self.cuts.add(frozenset((a, b)))

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
