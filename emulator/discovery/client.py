"""The client engines (and scripts) use to take part: register, heartbeat, leave.

Engines do not speak SWIM. They register with a discovery node's REST API and
heartbeat it; the node gossips for them (see emulator/membership/hosting.py).
`Presence` keeps one registration alive: it re-registers when the node forgot
the instance (404: the node restarted) and fails over to the next URL when the
node is unreachable; `stop()` leaves gracefully (DELETE), as on SIGTERM.

Configured from the environment by `Presence.from_env(...)`, which returns None
when WEFTKIT_DISCOVERY_URL is unset, so an engine needs no discovery to run:

    WEFTKIT_DISCOVERY_URL       comma-separated discovery REST URLs, tried in order
    WEFTKIT_DISCOVERY_GROUPS    comma-separated groups, e.g. "relational-primary"
    WEFTKIT_DISCOVERY_NODE_ID   the id to register under (default: the engine's own)
    WEFTKIT_DISCOVERY_TLS_CA    CA bundle to verify the node (https URLs)
    WEFTKIT_DISCOVERY_TLS_CERT  client certificate for mTLS (with ..._TLS_KEY)
    WEFTKIT_DISCOVERY_TLS_KEY
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import ssl
from dataclasses import dataclass
from typing import Mapping
from urllib.parse import quote, urlsplit

import aiohttp

from .config import NAME
from .tls import client_context

log = logging.getLogger("wkp.discovery.client")

ENV_URL = "WEFTKIT_DISCOVERY_URL"
ENV_GROUPS = "WEFTKIT_DISCOVERY_GROUPS"
ENV_NODE_ID = "WEFTKIT_DISCOVERY_NODE_ID"
ENV_TLS_CA = "WEFTKIT_DISCOVERY_TLS_CA"
ENV_TLS_CERT = "WEFTKIT_DISCOVERY_TLS_CERT"
ENV_TLS_KEY = "WEFTKIT_DISCOVERY_TLS_KEY"


class DiscoveryUnavailable(ConnectionError):
    """No discovery node answered (or one answered with an error)."""


@dataclass(frozen=True)
class Registration:
    node_id: str
    type: str
    protocol: str
    endpoint: str          # "host:port" or a URL with a port
    groups: tuple[str, ...] = ()

    def to_json(self) -> dict:
        return {"node_id": self.node_id, "type": self.type, "protocol": self.protocol,
                "endpoint": self.endpoint, "groups": list(self.groups)}


@dataclass(frozen=True)
class ClientSettings:
    urls: tuple[str, ...]
    groups: tuple[str, ...] = ()
    node_id: str | None = None
    ssl: ssl.SSLContext | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "ClientSettings | None":
        """None when WEFTKIT_DISCOVERY_URL is unset or empty; ValueError naming a bad variable."""
        env = os.environ if environ is None else environ
        urls = tuple(u.strip().rstrip("/") for u in env.get(ENV_URL, "").split(",") if u.strip())
        if not urls:
            return None
        for url in urls:
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError(f"{ENV_URL}: expected http(s)://host:port URLs, got {url!r}")
        groups = tuple(g.strip() for g in env.get(ENV_GROUPS, "").split(",") if g.strip())
        bad = [g for g in groups if not NAME.match(g)]
        if bad:
            raise ValueError(f"{ENV_GROUPS}: not a group name: {bad[0]!r}")
        node_id = env.get(ENV_NODE_ID) or None
        if node_id is not None and not NAME.match(node_id):
            raise ValueError(f"{ENV_NODE_ID}: not a valid node id: {node_id!r}")
        ca, cert, key = env.get(ENV_TLS_CA), env.get(ENV_TLS_CERT), env.get(ENV_TLS_KEY)
        if bool(cert) != bool(key):
            raise ValueError(f"{ENV_TLS_CERT} and {ENV_TLS_KEY} go together")
        context = None
        if ca or cert or any(u.startswith("https:") for u in urls):
            try:
                context = client_context(ca or None, cert or None, key or None)
            except (OSError, ssl.SSLError) as exc:
                raise ValueError(f"{ENV_TLS_CA}/{ENV_TLS_CERT}/{ENV_TLS_KEY}: {exc}") from None
        return cls(urls, groups, node_id, context)


class DiscoveryClient:
    """REST calls to the discovery nodes in `urls`, sticking to the one that answered last."""

    def __init__(self, urls: tuple[str, ...] | list[str], *, ssl: ssl.SSLContext | None = None,
                 timeout: float = 2.0):
        if not urls:
            raise ValueError("at least one discovery URL is needed")
        self.urls = tuple(u.rstrip("/") for u in urls)
        self.current = 0
        self._ssl = ssl
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    @property
    def url(self) -> str:
        return self.urls[self.current]

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self._timeout,
                                                  connector=aiohttp.TCPConnector(ssl=self._ssl))
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def __aenter__(self) -> "DiscoveryClient":
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

    async def _call(self, method: str, path: str, *, url: str | None = None, json=None,
                    ok=(200, 201), missing_ok: bool = False):
        target = (url or self.url) + path
        try:
            async with self._http().request(method, target, json=json) as response:
                if missing_ok and response.status == 404:
                    return None
                body = await response.json(content_type=None)
                if response.status not in ok:
                    message = body.get("message") if isinstance(body, dict) else body
                    raise DiscoveryUnavailable(f"{method} {target}: {response.status} {message}")
                return body
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:
            raise DiscoveryUnavailable(f"{method} {target}: {exc!r}") from None

    async def register(self, registration: Registration) -> dict:
        """Register with the current node, else each next one; the reply names the host."""
        errors = []
        for step in range(len(self.urls)):
            index = (self.current + step) % len(self.urls)
            try:
                reply = await self._call("POST", "/v1/register", url=self.urls[index],
                                         json=registration.to_json())
            except DiscoveryUnavailable as exc:
                errors.append(str(exc))
                continue
            self.current = index
            return reply
        raise DiscoveryUnavailable("no discovery node accepted the registration: "
                                   + "; ".join(errors))

    async def heartbeat(self, node_id: str) -> dict | None:
        """None: the node does not know us (restarted, or we left): register again."""
        return await self._call("POST", f"/v1/heartbeat/{quote(node_id, safe='')}",
                                missing_ok=True)

    async def deregister(self, node_id: str) -> dict | None:
        return await self._call("DELETE", f"/v1/members/{quote(node_id, safe='')}",
                                missing_ok=True)

    async def members(self, **query) -> list[dict]:
        params = "&".join(f"{k}={quote(str(v))}" for k, v in query.items())
        body = await self._call("GET", "/v1/members" + (f"?{params}" if params else ""))
        return body["members"]

    async def healthy(self, group: str) -> list[str]:
        return await self._call("GET", f"/v1/groups/{quote(group, safe='')}/healthy")


class Presence:
    """One instance's registration, kept alive by heartbeats until `stop()`."""

    def __init__(self, client: DiscoveryClient, registration: Registration):
        self.client = client
        self.registration = registration
        self.registered = False
        self.host: str | None = None
        self.interval = 1.0
        self.partitioned = False  # a fault hook: heartbeats are not sent while set
        self._task: asyncio.Task | None = None

    @classmethod
    def from_env(cls, *, node_id: str, type: str, protocol: str, endpoint: str,
                 groups: tuple[str, ...] = (), environ: Mapping[str, str] | None = None
                 ) -> "Presence | None":
        settings = ClientSettings.from_env(environ)
        if settings is None:
            return None
        registration = Registration(settings.node_id or node_id, type, protocol, endpoint,
                                    tuple(dict.fromkeys(groups + settings.groups)))
        return cls(DiscoveryClient(settings.urls, ssl=settings.ssl), registration)

    async def start(self) -> bool:
        """Register now if a node answers (True); either way keep trying in the background."""
        with contextlib.suppress(DiscoveryUnavailable):
            await self._register()
        if not self.registered:
            log.warning("discovery: %s not registered yet; retrying", self.registration.node_id)
        self._task = asyncio.create_task(self._keep_alive(), name="discovery-heartbeat")
        return self.registered

    async def _register(self) -> None:
        reply = await self.client.register(self.registration)
        self.registered = True
        self.host = reply.get("host")
        self.interval = reply.get("heartbeat_interval_ms", 1000) / 1000
        log.info("discovery: registered %s with %s", self.registration.node_id, self.client.url)

    async def _keep_alive(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            if self.partitioned:
                continue
            try:
                if not self.registered or await self.client.heartbeat(
                        self.registration.node_id) is None:
                    await self._register()
            except DiscoveryUnavailable as exc:
                log.warning("discovery: %s", exc)
                self.registered = False
                self.client.current = (self.client.current + 1) % len(self.client.urls)

    async def stop(self, leave: bool = True) -> None:
        """Stop heartbeating; with `leave`, deregister (status left) first. Never raises."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if leave and self.registered:
            try:
                await self.client.deregister(self.registration.node_id)
            except DiscoveryUnavailable as exc:
                log.warning("discovery: leave failed: %s", exc)
        self.registered = False
        await self.client.close()

    async def __aenter__(self) -> "Presence":
        await self.start()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.stop()
