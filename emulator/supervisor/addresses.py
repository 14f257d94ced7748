"""Stable loopback addresses for slots, as a service address or a load balancer gives.

A slot gets a free loopback port once, when it is first created, and every
later pod of that slot serves on it: a client keeps its address across
recycles, crashes and kills. If the port is taken when a new pod starts (some
other program grabbed it while the slot had no pod), the slot moves to a new
free port and the start event says so.
"""
from __future__ import annotations

import asyncio
import socket
from typing import Collection

HOST = "127.0.0.1"


def free_port(taken: Collection[int] = ()) -> int:
    """A port nobody listens on now and no other slot owns (`taken`)."""
    while True:
        with socket.socket() as s:
            s.bind((HOST, 0))
            port = s.getsockname()[1]
        if port not in taken:
            return port


def port_available(port: int) -> bool:
    """Whether a server could listen on `port` now.

    SO_REUSEADDR as the engines bind (aiohttp's default on POSIX), so sockets
    of an earlier pod lingering in TIME_WAIT do not count as taken.
    """
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((HOST, port))
            return True
        except OSError:
            return False


async def claim_port(port: int | None, taken: Collection[int] = (), wait_s: float = 3.0,
                     step_s: float = 0.05) -> int:
    """`port` once it is free (waiting up to `wait_s`), else a new free port not in `taken`."""
    if port is None:
        return free_port(taken)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_s
    while not port_available(port):
        if loop.time() >= deadline:
            return free_port(taken)
        await asyncio.sleep(step_s)
    return port
