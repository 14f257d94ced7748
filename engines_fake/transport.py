"""HTTP to the function (or the container sidecar): push, restore, health.

Only I/O: requests are built and signed by emulator.protocol.signed_requests
(each attempt signed with the current time, which is what "retry with a fresh
timestamp" after a 401 needs), answers are reduced to machine events by
engine_policy.response_from_http. Every failure to get an HTTP answer (refused,
reset, timeout, a cut-off body) becomes a NetworkError event; nothing here
decides whether to retry.
"""
from __future__ import annotations

import asyncio
import logging
import time
import uuid
from dataclasses import dataclass

import aiohttp

from emulator.protocol import signed_requests as sr
from emulator.protocol.codec import CorruptPayload, Encoding
from emulator.protocol.engine_events import NetworkError, Push, Response
from emulator.protocol.engine_payload import PayloadError
from emulator.protocol.engine_policy import response_from_http
from emulator.protocol.errors import MalformedRequest
from emulator.protocol.headers import RestoreResponse

from .payloads import RestoreIntake

log = logging.getLogger("wkp.engine.transport")
NETWORK_ERRORS = (aiohttp.ClientError, asyncio.TimeoutError, OSError)
VERSION = "0.1.0"


@dataclass
class RestoreResult:
    """A verified 200 restore, ready to install."""
    header: RestoreResponse
    intake: RestoreIntake


class Transport:
    def __init__(self, *, endpoint: str, secret: str, engine: str, tenant: str, instance_id: str,
                 strategy: str, encoding: Encoding, clock=time.time, signing_clock=None):
        self.endpoint, self.secret = endpoint.rstrip("/"), secret
        self.engine, self.tenant, self.instance_id = engine, tenant, instance_id
        self.strategy, self.encoding, self.clock = strategy, encoding, clock
        # the clock whose reading goes into X-WeftKit-Timestamp (skewed by the clock fault)
        self.signing_clock = signing_clock or clock
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        # auto_decompress=False: a restore body must reach the checksum as sent.
        self._session = aiohttp.ClientSession(auto_decompress=False)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    def _request_id(self) -> str:
        return f"{self.instance_id[:40]}-{uuid.uuid4().hex[:16]}"

    async def push(self, effect: Push, body: bytes):
        req = sr.persist_request(
            secret=self.secret, body=body, now=int(self.signing_clock()), request_id=self._request_id(),
            engine=self.engine, tenant=self.tenant, instance_id=self.instance_id,
            strategy=self.strategy, kind=effect.kind, cursor_from=effect.cursor_from,
            cursor_to=effect.cursor_to, encoding=self.encoding, version=VERSION, part=effect.part)
        try:
            async with self._session.post(self.endpoint + req.target, data=body, headers=req.headers,
                                          timeout=aiohttp.ClientTimeout(total=effect.timeout_s)) as r:
                payload = await r.read()
                return response_from_http(effect.token, self.clock(), r.status, r.headers, payload)
        except NETWORK_ERRORS as exc:
            return NetworkError(effect.token, self.clock(), _describe(exc))

    async def health(self, token: int, timeout_s: float):
        req = sr.health_request(secret=self.secret, now=int(self.signing_clock()),
                                request_id=self._request_id())
        try:
            async with self._session.get(self.endpoint + req.target, headers=req.headers,
                                         timeout=aiohttp.ClientTimeout(total=timeout_s)) as r:
                return response_from_http(token, self.clock(), r.status, r.headers, await r.read())
        except NETWORK_ERRORS as exc:
            return NetworkError(token, self.clock(), _describe(exc))

    async def restore(self, token: int, *, kind: str, takeover: bool, timeout_s: float):
        """A RestoreResult for a verified 200, else a Response / NetworkError event."""
        req = sr.restore_request(secret=self.secret, now=int(self.signing_clock()),
                                 request_id=self._request_id(), engine=self.engine,
                                 tenant=self.tenant, instance_id=self.instance_id, takeover=takeover)
        try:
            async with self._session.get(self.endpoint + req.target, headers=req.headers,
                                         timeout=aiohttp.ClientTimeout(total=timeout_s)) as r:
                if r.status != 200:
                    return response_from_http(token, self.clock(), r.status, r.headers, await r.read())
                return await _receive(token, r, kind, self.clock)
        except NETWORK_ERRORS as exc:
            return NetworkError(token, self.clock(), _describe(exc))


async def _receive(token: int, r: aiohttp.ClientResponse, kind: str, clock):
    try:
        header = RestoreResponse.from_headers(r.headers)
    except MalformedRequest as exc:
        return NetworkError(token, clock(), f"restore answer has bad headers: {exc.reason}")
    intake = RestoreIntake(kind, header.encoding)
    try:
        async for chunk in r.content.iter_chunked(256 * 1024):
            intake.feed(chunk)
        intake.finish()
    except (PayloadError, CorruptPayload) as exc:
        return NetworkError(token, clock(), f"restore body does not replay: {exc}")
    if intake.checksum != header.checksum:
        return NetworkError(token, clock(), "restore body fails its X-WeftKit-Checksum")
    if intake.replay.lsn != header.cursor.seq:
        return NetworkError(token, clock(), f"restore body ends at lsn {intake.replay.lsn}, "
                                            f"header says {header.cursor}")
    return RestoreResult(header, intake)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, asyncio.TimeoutError):
        return "timed out"
    return f"{type(exc).__name__}: {exc}".strip().rstrip(":")


__all__ = ["Transport", "RestoreResult", "Response", "NetworkError"]
