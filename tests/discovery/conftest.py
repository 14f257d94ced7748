"""Real discovery nodes on loopback: fast configs, in-process clusters, polling helpers."""
from __future__ import annotations

import asyncio
import time
from dataclasses import replace

import pytest

from emulator.discovery.config import DiscoveryConfig, check
from emulator.discovery.node import DiscoveryNode
from emulator.membership import Status

# Fast but not twitchy: the machine is shared, so the direct-ack wait is half a period.
FAST = check(DiscoveryConfig(bind="127.0.0.1:0", api_bind="127.0.0.1:0", gossip_interval_ms=100,
                             probe_timeout_ms=50, suspicion_timeout_ms=1000,
                             heartbeat_interval_ms=100, missed_heartbeats=5,
                             reconnect_interval_ms=300, sync_interval_ms=0))
T = FAST.gossip_interval_ms / 1000
SUSPICION = FAST.suspicion_timeout_ms / 1000


def detection_bound(n: int, config: DiscoveryConfig = FAST, slack: float = 1.5) -> float:
    """Every member marks a dead one failed within: one prober's round-robin reaches it in
    2(N-1) periods, the verdict ends that period, then the suspicion timeout; plus slack
    for a loaded machine."""
    t = config.gossip_interval_ms / 1000
    return (2 * (n - 1) + 1) * t + config.suspicion_timeout_ms / 1000 + slack


async def eventually(check, timeout: float, interval: float = 0.05):
    """Await check() until it returns something truthy (a remote view, say); returns it."""
    started = time.monotonic()
    while True:
        result = await check()
        if result:
            return result
        if time.monotonic() - started > timeout:
            raise AssertionError(f"not true within {timeout:.1f}s: {check}")
        await asyncio.sleep(interval)


async def wait_for(predicate, timeout: float, interval: float = 0.02) -> float:
    """Poll until predicate() is true; seconds it took. Fails the test on timeout."""
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"not true within {timeout:.1f}s: {predicate.__doc__ or predicate}")
        await asyncio.sleep(interval)
    return time.monotonic() - started


def status(node: DiscoveryNode, node_id: str) -> Status | None:
    member = node.core.table.member(node_id)
    return member.status if member else None


class LocalCluster:
    """N discovery nodes in this process, each with its own UDP socket, joined via node 0."""

    def __init__(self, config: DiscoveryConfig = FAST):
        self.config = config
        self.nodes: list[DiscoveryNode] = []

    async def add(self, node_id: str | None = None, **overrides) -> DiscoveryNode:
        seeds = (self.nodes[0].udp_addr,) if self.nodes else ()
        config = replace(self.config, node_id=node_id or f"n{len(self.nodes)}", seeds=seeds,
                         rng_seed=len(self.nodes), **overrides)
        node = await DiscoveryNode(config).start()
        self.nodes.append(node)
        return node

    async def start(self, n: int) -> "LocalCluster":
        for _ in range(n):
            await self.add()
        return self

    def running(self) -> list[DiscoveryNode]:
        return [n for n in self.nodes if n.driver is not None]

    def converged(self) -> bool:
        live = self.running()
        ids = [n.node_id for n in live]
        return all(status(o, i) is Status.ALIVE for o in live for i in ids)

    def all_see(self, node_id: str, wanted: Status) -> bool:
        return all(status(o, node_id) is wanted for o in self.running() if o.node_id != node_id)

    def by_id(self, node_id: str) -> DiscoveryNode:
        return next(n for n in self.nodes if n.node_id == node_id)

    async def stop(self) -> None:
        for node in self.running():
            await node.stop(leave=False)


@pytest.fixture
async def local_cluster():
    clusters = []

    async def make(n: int, config: DiscoveryConfig = FAST) -> LocalCluster:
        cluster = LocalCluster(config)
        clusters.append(cluster)
        return await cluster.start(n)

    yield make
    for cluster in clusters:
        await cluster.stop()
