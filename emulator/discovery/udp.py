"""The asyncio UDP driver: runs a membership core on a datagram socket.

It only executes: datagrams in -> core.handle_message, one timer at
core.next_deadline() -> core.handle_timer, Send effects -> sendto, after the
fault switch had its say in each direction. The core's clock is loop.time().
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Callable

from emulator.membership import MemberChanged, MemberReaped, Membership, Send
from emulator.membership import wire

from .config import split_addr
from .faults import FaultSwitch

log = logging.getLogger("wkp.discovery.udp")


@dataclass
class UdpStats:
    sent: int = 0
    received: int = 0
    malformed: int = 0
    send_errors: int = 0

    def to_json(self, faults: FaultSwitch) -> dict:
        return {"sent": self.sent, "received": self.received, "malformed": self.malformed,
                "send_errors": self.send_errors, "dropped_loss": faults.dropped_loss,
                "dropped_partition": faults.dropped_partition}


class GossipDriver(asyncio.DatagramProtocol):
    def __init__(self, faults: FaultSwitch, on_event: Callable[[object], None]):
        self.faults = faults
        self.on_event = on_event
        self.stats = UdpStats()
        self.core: Membership | None = None
        self.transport: asyncio.DatagramTransport | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._addrs: dict[str, tuple[str, int]] = {}
        self._loop = asyncio.get_running_loop()

    def now(self) -> float:
        return self._loop.time()

    def connection_made(self, transport) -> None:
        self.transport = transport

    def attach(self, core: Membership) -> None:
        self.core = core
        self.reschedule()

    def datagram_received(self, data: bytes, addr) -> None:
        if self.core is None or self.transport is None:
            return
        self.stats.received += 1
        try:
            msg = wire.decode(data)
        except wire.WireError as exc:
            self.stats.malformed += 1
            log.debug("dropped a malformed datagram from %s: %s", addr, exc)
            return
        if self.faults.drops(self.core.me, msg.source):
            return
        self.run(lambda now: self.core.handle_message(msg, f"{addr[0]}:{addr[1]}", now))

    def error_received(self, exc: Exception) -> None:
        self.stats.send_errors += 1  # e.g. ICMP port unreachable from a dead peer
        log.debug("udp error: %s", exc)

    def run(self, step: Callable[[float], list]) -> list:
        """Run one core step now, execute its effects, re-arm the timer."""
        try:
            effects = step(self.now())
        except Exception:  # a bug must not take the node down: log it loudly
            log.exception("membership core failed on a step")
            effects = []
        self.execute(effects)
        self.reschedule()
        return effects

    def execute(self, effects) -> None:
        for effect in effects:
            if isinstance(effect, Send):
                self._send(effect)
            elif isinstance(effect, (MemberChanged, MemberReaped)):
                self.on_event(effect)

    def _send(self, effect: Send) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        if self.faults.drops(self.core.me, effect.to):
            return
        target = self._addrs.get(effect.addr)
        if target is None:
            target = self._addrs[effect.addr] = split_addr(effect.addr)
        self.transport.sendto(wire.encode(effect.message), target)
        self.stats.sent += 1

    def reschedule(self) -> None:
        if self.core is None or self.transport is None or self.transport.is_closing():
            return
        deadline = self.core.next_deadline()
        if self._timer is not None:
            if self._timer.when() == deadline:
                return
            self._timer.cancel()
        self._timer = self._loop.call_at(deadline, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        self.run(self.core.handle_timer)

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self.transport is not None:
            self.transport.close()
