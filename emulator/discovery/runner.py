"""Serving a discovery node: the REST socket bound first (so the node can gossip its API
URL), then the app, whose startup binds the UDP socket and joins the cluster."""
from __future__ import annotations

import socket
from dataclasses import dataclass, replace

from aiohttp import web

from .app import create_app
from .config import DiscoveryConfig, split_addr
from .keys import NODE
from .node import DiscoveryNode
from .tls import server_context


@dataclass
class RunningDiscovery:
    runner: web.AppRunner
    config: DiscoveryConfig

    @property
    def node(self) -> DiscoveryNode:
        return self.runner.app[NODE]

    @property
    def api_url(self) -> str:
        return self.config.api_url

    async def stop(self) -> None:
        """Graceful: the node leaves the cluster, then the API closes."""
        await self.runner.cleanup()


def bind_tcp(addr: str) -> socket.socket:
    host, port = split_addr(addr)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.setblocking(False)
    return sock


async def start_discovery(config: DiscoveryConfig) -> RunningDiscovery:
    sock = bind_tcp(config.api_bind)
    host, port = sock.getsockname()[:2]
    if host in ("0.0.0.0", "::"):
        host = "127.0.0.1"
    scheme = "https" if config.tls else "http"
    config = replace(config, api_url=f"{scheme}://{host}:{port}")
    ssl_context = server_context(config.tls_cert, config.tls_key, config.tls_ca) if config.tls else None
    runner = web.AppRunner(create_app(config), access_log=None, handler_cancellation=True)
    try:
        await runner.setup()
        await web.SockSite(runner, sock, ssl_context=ssl_context).start()
    except BaseException:
        await runner.cleanup()
        sock.close()
        raise
    return RunningDiscovery(runner, config)
