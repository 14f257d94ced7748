"""What a clause works with: its namespace, a fresh instance id, push helpers.

Each clause gets a ClauseContext with its own instance id, so clauses never
see each other's data. A Lineage is one instance's history as the kit pushes
it (cursors, decoded payloads), so a clause can say "push a full, two deltas,
then check the restore" without bookkeeping.
"""
from __future__ import annotations

import asyncio
import hashlib
import math
import time
import uuid
from dataclasses import dataclass
from typing import AsyncIterator, Callable

from emulator.protocol import names
from emulator.protocol.codec import Encoding
from emulator.protocol.cursor import Cursor
from emulator.protocol.function_rules import DEFAULT_MAX_PAYLOAD
from emulator.protocol.headers import Part
from emulator.protocol.signed_requests import (OutgoingRequest, health_request, persist_request,
                                               restore_request)

from . import expect
from .client import Reply, WkpClient

FIRST_CURSOR = Cursor(0, 10)
STEP = 5
ASYNC_SETTLE_S = 10.0  # how long a restore may lag a 202 push before it counts as missing


@dataclass(frozen=True)
class Settings:
    endpoint: str
    secret: str
    tenant: str
    engine: str = "relational"
    max_payload: int = DEFAULT_MAX_PAYLOAD
    timeout: float = 30.0

    @property
    def other_tenant(self) -> str:
        """A tenant the kit only reads (isolation), never writes."""
        suffix = "-other"
        return self.tenant[:64 - len(suffix)] + suffix

    @property
    def other_engines(self) -> tuple[str, ...]:
        """[0] is read for engine isolation, [1] holds the takeover clause's lineages."""
        return tuple(e for e in names.ENGINE_KINDS if e != self.engine)


def new_instance_id() -> str:
    return f"conformance-{uuid.uuid4().hex[:16]}"


class ClauseContext:
    def __init__(self, client: WkpClient, settings: Settings, clause_id: str,
                 clock: Callable[[], float] = time.time):
        self.client, self.settings, self.clause_id, self._clock = client, settings, clause_id, clock
        self.instance_id = new_instance_id()

    def now(self, round_up: bool = False) -> int:
        """Unix seconds, as a timestamp header carries them."""
        t = self._clock()
        return math.ceil(t) if round_up else int(t)

    def request_id(self) -> str:
        return str(uuid.uuid4())

    def payload(self, label: str, records: int = 40) -> bytes:
        """Readable, unique, compressible: a restore that mixes them up is easy to see."""
        return b"".join(f"{self.clause_id} {self.instance_id} {label} record {i:03d}\n".encode()
                        for i in range(records))

    def lineage(self, *, instance_id: str | None = None, tenant: str | None = None,
                engine: str | None = None, encoding: Encoding = Encoding.ZSTD) -> "Lineage":
        return Lineage(self, tenant or self.settings.tenant, engine or self.settings.engine,
                       instance_id or self.instance_id, encoding)

    def restore_request(self, *, instance_id=None, tenant=None, engine=None, up_to=None,
                        full_only=False, takeover=False, secret=None, now=None) -> OutgoingRequest:
        s = self.settings
        return restore_request(secret=secret or s.secret, now=self.now() if now is None else now,
                               request_id=self.request_id(), engine=engine or s.engine,
                               tenant=tenant or s.tenant, instance_id=instance_id or self.instance_id,
                               up_to=up_to, full_only=full_only, takeover=takeover)

    async def restore(self, label: str = "", **kwargs) -> Reply:
        return await self.client.send(self.restore_request(**kwargs), label=label)

    def health_request(self, *, secret=None, now=None) -> OutgoingRequest:
        return health_request(secret=secret or self.settings.secret,
                              now=self.now() if now is None else now)

    async def health(self, label: str = "", **kwargs) -> Reply:
        return await self.client.send(self.health_request(**kwargs), label=label)


class Lineage:
    """One instance's chain as pushed by the kit."""

    def __init__(self, ctx: ClauseContext, tenant: str, engine: str, instance_id: str,
                 encoding: Encoding):
        self.ctx, self.tenant, self.engine, self.instance_id = ctx, tenant, engine, instance_id
        self.encoding = encoding
        self.head: Cursor | None = None
        self.pieces: list[bytes] = []  # decoded payloads a latest restore must return, in order
        self.cursors: list[Cursor] = []  # their Cursor-To values, in the same order
        self.accepted_async = False    # a 202 was seen: restores may lag, so poll

    def next_cursor(self) -> Cursor:
        return FIRST_CURSOR if self.head is None else self.head.advance(STEP)

    def request(self, kind: str, body: bytes | None, *, cursor_from: Cursor | None,
                cursor_to: Cursor, encoding: Encoding | None = None, part: Part | None = None,
                now: int | None = None, secret: str | None = None, request_id: str | None = None,
                body_sha256: str | None = None, content_length: int | None = None) -> OutgoingRequest:
        """A signed push (not sent): negative clauses alter its headers before sending."""
        s = self.ctx.settings
        return persist_request(
            secret=secret or s.secret, body=body, body_sha256=body_sha256,
            content_length=content_length, now=self.ctx.now() if now is None else now,
            request_id=request_id or self.ctx.request_id(), engine=self.engine, tenant=self.tenant,
            instance_id=self.instance_id, strategy="incremental", kind=kind,
            cursor_from=cursor_from, cursor_to=cursor_to, encoding=encoding or self.encoding,
            part=part)

    async def full(self, payload: bytes, *, to: Cursor | None = None,
                   encoding: Encoding | None = None) -> Reply:
        to = to or self.next_cursor()
        reply = await self._push("full", payload, None, to, encoding)
        self.pieces, self.cursors = [payload], [to]
        return reply

    async def delta(self, payload: bytes, *, to: Cursor | None = None,
                    encoding: Encoding | None = None) -> Reply:
        if self.head is None:
            raise RuntimeError("kit bug: a delta needs a full first")
        to = to or self.next_cursor()
        reply = await self._push("delta", payload, self.head, to, encoding)
        self.pieces.append(payload)
        self.cursors.append(to)
        return reply

    async def _push(self, kind, payload, cursor_from, cursor_to, encoding) -> Reply:
        encoding = encoding or self.encoding
        body = encoding.compress(payload)
        request = self.request(kind, body, cursor_from=cursor_from, cursor_to=cursor_to,
                               encoding=encoding)
        reply = await self.ctx.client.send(request, body, label=describe_push(request))
        expect.accepted(reply)
        self.accepted_async |= reply.status == 202
        self.head = cursor_to
        return reply

    async def restore(self, **kwargs) -> Reply:
        """Restore this lineage's namespace (after any 202 push has landed)."""
        namespace = {"instance_id": self.instance_id, "tenant": self.tenant, "engine": self.engine}
        if self.accepted_async:
            latest = await self.settle(namespace)
            if not kwargs:
                return latest
        return await self.ctx.restore(**namespace, **kwargs)

    async def settle(self, namespace: dict) -> Reply:
        """An async (202) function may acknowledge before it stores: poll the latest
        restore until it reaches the head, for at most ASYNC_SETTLE_S."""
        deadline = time.monotonic() + ASYNC_SETTLE_S
        reply = await self.ctx.restore(**namespace)
        while self.head is not None and not _reached(reply, self.head) and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
            reply = await self.ctx.restore(**namespace)
        return reply


def _reached(reply: Reply, head: Cursor | None) -> bool:
    return reply.status == 200 and reply.header(names.CURSOR) == str(head)


def describe_push(request: OutgoingRequest) -> str:
    h = request.headers
    kind, c_from, c_to = h.get(names.SNAPSHOT_KIND), h.get(names.CURSOR_FROM), h.get(names.CURSOR_TO)
    span = f"{c_from}→{c_to}" if c_from else f"→{c_to}"
    part = f" part {h[names.PART]}" if names.PART in h else ""
    return f"{kind} {span}{part}, {h.get('Content-Encoding')}"


def oversized_body(size: int, chunk: int = 1024 * 1024) -> tuple[str, Callable[[], AsyncIterator[bytes]]]:
    """(sha256 hex, factory of an async stream of `size` bytes): never held in memory whole."""
    block = (b"wkp-conformance-oversized\n" * (chunk // 26 + 1))[:chunk]
    hasher = hashlib.sha256()
    full, rest = divmod(size, chunk)
    for _ in range(full):
        hasher.update(block)
    hasher.update(block[:rest])

    async def stream() -> AsyncIterator[bytes]:
        for _ in range(full):
            yield block
        if rest:
            yield block[:rest]
    return hasher.hexdigest(), stream
