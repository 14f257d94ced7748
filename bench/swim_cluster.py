"""The benchmark's cluster: N discovery nodes in one event loop, crashes and replacements,
and the times of membership changes as the nodes themselves recorded them."""
from __future__ import annotations

import asyncio
import random
import statistics
import time
from dataclasses import replace

from emulator.discovery.config import DiscoveryConfig
from emulator.discovery.faults import FaultPlan
from emulator.discovery.node import DiscoveryNode
from emulator.membership import Meta, Status


class LoopLag:
    """How late a 10 ms sleep wakes up: the loop's own latency, which adds to every figure."""

    def __init__(self):
        self.samples: list[float] = []
        self._task = asyncio.create_task(self._run())

    async def _run(self):
        loop = asyncio.get_running_loop()
        while True:
            before = loop.time()
            await asyncio.sleep(0.01)
            self.samples.append(loop.time() - before - 0.01)

    def p99_ms(self) -> float:
        if len(self.samples) < 2:
            return 0.0
        return statistics.quantiles(self.samples, n=100)[98] * 1000

    def stop(self):
        self._task.cancel()


class BenchCluster:
    def __init__(self, config: DiscoveryConfig):
        self.config = config
        self.period = config.gossip_interval_ms / 1000
        self.nodes: list[DiscoveryNode] = []
        self.crashed: list[DiscoveryNode] = []
        self.faults = FaultPlan()
        self.lag = LoopLag()
        self._counter = 0

    async def add(self) -> DiscoveryNode:
        seeds = (self.nodes[0].udp_addr,) if self.nodes else ()
        config = replace(self.config, node_id=f"n{self._counter}", seeds=seeds,
                         rng_seed=(self.config.rng_seed or 0) + self._counter)
        self._counter += 1
        node = await DiscoveryNode(config).start()
        node.set_faults(self.faults)
        self.nodes.append(node)
        return node

    async def start(self, n: int) -> None:
        """Nodes join one every quarter period, as a rolling start would: 64 joins in the
        same millisecond make a gossip storm that measures the CPU, not the protocol."""
        for _ in range(n):
            await self.add()
            await asyncio.sleep(self.period / 4)

    def set_faults(self, plan: FaultPlan) -> None:
        self.faults = plan
        for node in self.running():
            node.set_faults(plan)

    def running(self) -> list[DiscoveryNode]:
        return [n for n in self.nodes if n.driver is not None]

    def converged(self) -> bool:
        live = self.running()
        ids = [n.node_id for n in live]
        return all(_status(o, i) is Status.ALIVE for o in live for i in ids)

    async def wait(self, predicate, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise TimeoutError(f"cluster did not get there in {timeout:.0f} s")
            await asyncio.sleep(0.005)

    async def settle(self) -> None:
        """Converged, nothing left to gossip, every node healthy (under loss, converged
        is all one can ask: lost acks keep making suspicions to refute); then a random
        phase. "Nothing to gossip" means nothing hot: the tail of retransmissions rides on
        pings and acks, which are sent anyway. Between trials this matters: N nodes share
        this one CPU, and overlapping waves of updates could saturate the loop, and a
        saturated loop makes false suspicions (more updates)."""
        hot = self.config.retransmit_mult
        quiet = lambda: self.converged() and (self.faults.loss > 0 or all(
            not n.core.queue.hot(hot) and n.core.health == 0 for n in self.running()))
        await self.wait(quiet, 30 + 2 * len(self.nodes) * self.period)
        await asyncio.sleep(random.random() * self.period)

    async def disseminate(self, node_id: str) -> float:
        """Seconds from a registration at a random node until every node has its record."""
        origin = random.choice(self.running())
        started = time.time()
        origin.register(node_id, Meta("bench", "none", "127.0.0.1:1", ("bench",)))
        await self.wait(lambda: all(n.core.table.member(node_id) for n in self.running()), 30)
        arrivals = [_first_event(n, node_id, "alive", started) for n in self.running()]
        return max(arrivals) - started

    async def _victims(self, rng: random.Random, count: int) -> list[DiscoveryNode]:
        victims: list[DiscoveryNode] = []
        while len(victims) < count:  # under loss, not one that is already suspected
            candidate = rng.choice(self.running()[1:])  # never the seed of replacements
            if candidate not in victims and all(
                    _status(o, candidate.node_id) is Status.ALIVE for o in self.running()
                    if o is not candidate):
                victims.append(candidate)
            else:
                await asyncio.sleep(0.01)
        return victims

    async def pause(self, rng: random.Random, count: int = 1) -> list[float]:
        """Silence `count` nodes (their own fault plan drops all their traffic), each until
        someone suspects it: to the others exactly a crash, but the node comes back
        and refutes, so a sample costs no suspicion timeout and no replacement.
        Returns the seconds to each one's first suspicion."""
        victims = await self._victims(rng, count)
        others = [n for n in self.running() if n not in victims]
        started = time.time()
        for victim in victims:
            victim.set_faults(FaultPlan(isolate=frozenset({victim.node_id})))
        silent = list(victims)
        deadline = time.monotonic() + (2 * len(self.nodes) + 1) * self.period + 30
        while silent:  # each comes back as soon as it is suspected, to refute in time
            for victim in list(silent):
                if any(_status(o, victim.node_id) is not Status.ALIVE for o in others):
                    victim.set_faults(self.faults)
                    silent.remove(victim)
            if time.monotonic() > deadline:
                raise TimeoutError("a silenced node was never suspected")
            await asyncio.sleep(0.005)
        # Let the wave of suspicions and refutations drain before the next trial: 64
        # nodes share one CPU here, and overlapping waves overload it (see settle()).
        await self.settle()
        return [min(t for o in others if (t := _first_event(o, v.node_id, "suspect", started,
                                                             None))) - started
                for v in victims]

    async def crash(self, rng: random.Random, count: int = 1) -> list[tuple[float, float]]:
        """Crash `count` nodes at once; for each, (first suspicion anywhere, failed at every
        other node), in seconds after the crash."""
        victims = await self._victims(rng, count)
        others = [n for n in self.running() if n not in victims]
        started = time.time()
        for victim in victims:
            victim.kill()
        self.crashed += victims
        n = len(others) + count
        bound = (2 * n + 1) * self.period + self.config.suspicion_timeout_ms / 1000 + 30
        await self.wait(lambda: all(_status(o, v.node_id) is Status.FAILED
                                    for o in others for v in victims), bound)
        samples = []
        for victim in victims:
            suspected = [t for o in others
                         if (t := _first_event(o, victim.node_id, "suspect", started, None))]
            failed = [_first_event(o, victim.node_id, "failed", started) for o in others]
            samples.append((min(suspected) - started, max(failed) - started))
        return samples

    async def replace_crashed(self, count: int = 1) -> None:
        for _ in range(count):
            await self.add()
        await self.wait(self.converged, 30 + 2 * len(self.nodes) * self.period)

    async def stop(self) -> None:
        self.lag.stop()
        for node in self.running():
            await node.stop(leave=False)


def _status(node: DiscoveryNode, node_id: str) -> Status | None:
    member = node.core.table.member(node_id)
    return member.status if member else None


_MISSING = object()


def _first_event(node: DiscoveryNode, node_id: str, status: str, since: float, default=_MISSING):
    for event in node.events:
        if event.node_id == node_id and event.status == status and event.at >= since:
            return event.at
    if default is _MISSING:
        raise LookupError(f"{node.node_id} recorded no {status} event for {node_id}")
    return default
