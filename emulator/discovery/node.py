"""A discovery node: one membership core on one UDP socket, and what the API asks of it.

Owns the lifecycle (bind, join, graceful leave), turns the core's monotonic
clock into wall-clock times for people, and keeps a bounded log of membership
changes that the API serves as an event feed.
"""
from __future__ import annotations

import asyncio
import collections
import logging
import random
import socket
import time
from dataclasses import dataclass

from emulator.membership import (Member, MemberChanged, MemberReaped, Membership, Meta, Status)

from .config import DiscoveryConfig, split_addr
from .faults import FaultPlan, FaultSwitch
from .udp import GossipDriver

log = logging.getLogger("wkp.discovery")
EVENT_LOG = 1000


@dataclass(frozen=True)
class Event:
    seq: int
    at: float  # wall clock
    node_id: str
    status: str | None  # None: forgotten (reaped)
    previous: str | None
    incarnation: int | None


class DiscoveryNode:
    def __init__(self, config: DiscoveryConfig):
        self.config = config
        self.params = config.swim_params()
        self.rng = random.Random(config.rng_seed)
        self.faults = FaultSwitch(random.Random(self.rng.random()))
        self.events: collections.deque[Event] = collections.deque(maxlen=EVENT_LOG)
        self._event_seq = 0
        self._changed = asyncio.Event()
        self.driver: GossipDriver | None = None
        self.core: Membership | None = None
        self.udp_addr = ""
        self.started_wall = time.time()
        self.leaving = False

    # -- lifecycle ---------------------------------------------------------

    async def start(self) -> "DiscoveryNode":
        loop = asyncio.get_running_loop()
        host, port = split_addr(self.config.bind)
        seeds = await self._resolve_seeds()
        transport, driver = await loop.create_datagram_endpoint(
            lambda: GossipDriver(self.faults, self._on_event), local_addr=(host, port))
        bound_port = transport.get_extra_info("sockname")[1]
        adv_host, adv_port = (split_addr(self.config.advertise) if self.config.advertise
                              else (host, bound_port))
        if adv_host in ("0.0.0.0", "::", ""):
            adv_host = "127.0.0.1"
        self.udp_addr = f"{adv_host}:{adv_port or bound_port}"
        node_id = self.config.node_id or f"{socket.gethostname()}-{bound_port}"
        groups = ("discovery",) + tuple(g for g in self.config.groups if g != "discovery")
        me = Member(node_id, 0, Status.ALIVE, self.udp_addr, None,
                    Meta("discovery", "swim", self.config.api_url, groups))
        self.driver = driver
        self.core = Membership(me, self.params, random.Random(self.rng.random()), loop.time(),
                               seeds)
        driver.attach(self.core)
        log.info("discovery node %s gossiping on %s (seeds: %s)", node_id, self.udp_addr,
                 ", ".join(seeds) or "none")
        return self

    async def _resolve_seeds(self) -> tuple[str, ...]:
        loop = asyncio.get_running_loop()
        out = []
        for seed in self.config.seeds:
            host, port = split_addr(seed)
            try:
                infos = await loop.getaddrinfo(host, port, type=socket.SOCK_DGRAM,
                                               family=socket.AF_INET)
            except socket.gaierror as exc:
                raise ValueError(f"discovery.seeds: cannot resolve {seed!r}: {exc}") from None
            out.append(f"{infos[0][4][0]}:{port}")
        return tuple(out)

    async def stop(self, leave: bool = True) -> None:
        """Leave gracefully (tell a few members directly), then close the socket."""
        if self.driver is None:
            return
        self.leaving = True
        if leave and self.core is not None:
            self.driver.run(self.core.leave)
            await asyncio.sleep(0)  # let the transport flush what it could not send at once
        self.driver.close()
        self.driver = None

    def kill(self) -> None:
        """Stop answering without a word: what a crash looks like to the others."""
        if self.driver is not None:
            self.driver.close()
            self.driver = None

    # -- what the API asks ---------------------------------------------------

    @property
    def node_id(self) -> str:
        return self.core.me

    def now(self) -> float:
        return asyncio.get_running_loop().time()

    def wall(self, monotonic: float | None) -> float | None:
        """A core time (loop.time()) as a Unix time."""
        return None if monotonic is None else time.time() - (self.now() - monotonic)

    def register(self, node_id: str, meta: Meta) -> Member:
        member, effects = self.core.register(node_id, meta, self.now())
        self.driver.execute(effects)
        self.driver.reschedule()
        return member

    def heartbeat(self, node_id: str) -> Member | None:
        member, effects = self.core.heartbeat(node_id, self.now())
        self.driver.execute(effects)
        self.driver.reschedule()
        return member

    def deregister(self, node_id: str) -> Member:
        member, effects = self.core.deregister(node_id, self.now())
        self.driver.execute(effects)
        self.driver.reschedule()
        return member

    def set_faults(self, plan: FaultPlan) -> None:
        self.faults.plan = plan
        (log.warning if plan != FaultPlan() else log.info)("faults on %s: %s", self.node_id,
                                                           plan.to_json())

    # -- change events -------------------------------------------------------

    def _on_event(self, effect) -> None:
        self._event_seq += 1
        if isinstance(effect, MemberChanged):
            m = effect.member
            event = Event(self._event_seq, time.time(), m.node_id, m.status.value,
                          effect.previous.value if effect.previous else None, m.incarnation)
        elif isinstance(effect, MemberReaped):
            event = Event(self._event_seq, time.time(), effect.node_id, None, None, None)
        else:
            return
        self.events.append(event)
        log.info("member %s: %s -> %s", event.node_id, event.previous, event.status)
        self._changed.set()
        self._changed = asyncio.Event()

    async def wait_for_events(self, after: int, timeout: float) -> list[Event]:
        """Events with seq > after; waits up to `timeout` for one if there is none yet."""
        pending = [e for e in self.events if e.seq > after]
        if not pending and timeout > 0:
            try:
                await asyncio.wait_for(self._changed.wait(), timeout)
            except asyncio.TimeoutError:
                return []
            pending = [e for e in self.events if e.seq > after]
        return pending
