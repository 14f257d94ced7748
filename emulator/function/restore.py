"""GET /restore: plan from a listing, then stream the chain out.

Bodies are streamed object by object, chunk by chunk: the function never holds
a snapshot in memory. Same-encoding chains go out byte for byte; a mixed chain
is re-encoded into the full's encoding on the way (docs/protocol-decisions.md).
"""
from __future__ import annotations

import asyncio
import hashlib
from collections import deque

from aiohttp import web

from emulator.protocol import layout
from emulator.protocol.codec import transcode
from emulator.protocol.headers import RestoreHeaders, RestoreQuery, RestoreResponse
from emulator.protocol.restore_plan import RestorePlan, plan_restore
from emulator.protocol.signing import EMPTY_BODY, SignedRequest, verify
from emulator.store.interface import NotFound, StoreUnavailable

from .keys import CHAINS, CONFIG, METRICS, RELAYED, STORE
from .lineage import adopt_newest_lineage
from .platform import paced
from .splice_relay import SpliceRelay, drain_to_empty, splice_possible

RELAY_STALL_S = 60.0  # as long as the S3 client's read timeout: no progress that long fails
OPEN_AHEAD_BYTES = 16 * 1024 * 1024  # objects opened ahead of the one being spliced (OpenAhead)


def parse_restore(request: web.Request, now: float, max_skew: int, secret: str):
    query = RestoreQuery.from_query(request.rel_url.query)
    h = RestoreHeaders.from_headers(request.headers, query)
    verify(secret, SignedRequest("GET", request.path, request.rel_url.raw_query_string, str(h.timestamp),
                                 h.request_id, EMPTY_BODY, h.signature), now, max_skew)
    return query, h


async def restore(request: web.Request) -> web.StreamResponse:
    app = request.app
    cfg, store = app[CONFIG], app[STORE]
    query, h = parse_restore(request, cfg.clock(), cfg.limits.max_skew_s, cfg.secret)
    state = app[CHAINS].state(query.tenant, query.engine, h.instance_id)
    plan = await _own_plan(store, state.prefix, query)
    lineage = None
    if plan is None and query.takeover:
        plan, lineage = await adopt_newest_lineage(store, query, h.instance_id, cfg)
    if plan is None:
        return web.Response(status=204)
    encoding = plan.full.objects[0].encoding
    mixed = any(o.encoding is not encoding for o in plan.objects)
    checksum = None if mixed or lineage else _warm_checksum(state, plan)
    length = plan.size
    if checksum is None:
        checksum, length = await _first_pass(store, plan, cfg.restore_chunk)
    headers = RestoreResponse(cursor=plan.cursor, checksum=checksum, encoding=encoding,
                              deltas=len(plan.deltas), lineage=lineage).to_headers()
    response = web.StreamResponse(status=200, headers=headers)
    response.content_length = length
    if cfg.splice and not mixed and getattr(store, "raw_capable", False) and splice_possible(request):
        app[METRICS].restore_relays["splice"] += 1
        await _splice_chain(request, response, store, plan, RELAY_STALL_S)
    else:
        app[METRICS].restore_relays["stream"] += 1
        await response.prepare(request)
        async for chunk in paced(request, read_ahead(_chain_bytes(store, plan, cfg.restore_chunk)),
                                 cfg.platform):
            await response.write(chunk)
    await response.write_eof()
    return response


async def _splice_chain(request, response, store, plan: RestorePlan, timeout_s: float) -> None:
    """Same bytes as _chain_bytes for a one-encoding chain, moved in the kernel
    (splice_relay.py). The first object is opened before the status line goes
    out, so a store that fails at once still gets its 503; the objects after
    it are opened while the current one is sent (OpenAhead), hiding the
    store's round trip per object."""
    objects = list(plan.objects)
    ahead = OpenAhead(store, objects)
    try:
        raw = await ahead.next()
        await response.prepare(request)
        await response.write(b"")  # the head goes out now, ahead of any spliced byte
        async with SpliceRelay(request, timeout_s) as relay:
            try:
                for index, obj in enumerate(objects):
                    if index:
                        raw = await ahead.next()
                    ahead.fill()
                    if raw.length != obj.size:
                        raise StoreUnavailable(f"{obj.key} changed while being restored")
                    if raw.head_bytes:
                        await response.write(raw.head_bytes)
                    await drain_to_empty(request)
                    await relay.send(raw)
                    raw.close()
            finally:
                request[RELAYED] = relay.sent
    finally:
        await ahead.close()


class OpenAhead:
    """Raw GETs of a chain's objects, opened in order ahead of the one being
    sent: always the next one, and more while the objects opened ahead add up
    to no more than `ahead_bytes`. Why more than one: a chain ends in many
    small deltas, and one store round trip each (tens of milliseconds on a
    busy machine) took longer than sending them. Why a bound: the store
    prepares each opened object in its own memory, and the kernel buffers a
    little of each for us; neither should grow with the chain."""

    def __init__(self, store, objects, ahead_bytes: int = OPEN_AHEAD_BYTES):
        self._store, self._objects, self._ahead_bytes = store, objects, ahead_bytes
        self._opened: deque = deque()  # (size, future of RawObject), in chain order
        self._taken: list = []  # handed out by next(): closed again by close()
        self._next = 0

    @property
    def opened_ahead(self) -> list[int]:
        """Sizes of the objects opened and not yet handed out, in order."""
        return [size for size, _ in self._opened]

    def fill(self) -> None:
        pending = sum(size for size, _ in self._opened)
        while self._next < len(self._objects):
            obj = self._objects[self._next]
            if self._opened and pending + obj.size > self._ahead_bytes:
                return
            self._opened.append((obj.size, asyncio.ensure_future(_open(self._store, obj.key))))
            pending += obj.size
            self._next += 1

    async def next(self):
        self.fill()
        raw = await self._opened.popleft()[1]
        self._taken.append(raw)
        return raw

    async def close(self) -> None:
        """Close what was handed out and cancel or close what was opened ahead."""
        for raw in self._taken:
            raw.close()
        futures = [future for _, future in self._opened]
        self._opened.clear()
        for future in futures:
            future.cancel()
        for leftover in await asyncio.gather(*futures, return_exceptions=True):
            if hasattr(leftover, "close"):
                leftover.close()


async def _open(store, key: str):
    try:
        return await store.open_raw(key)
    except NotFound:
        raise StoreUnavailable(f"{key} vanished between the listing and the read") from None


async def _own_plan(store, prefix: str, query: RestoreQuery) -> RestorePlan | None:
    objects = [layout.parse_key(i.key, i.size, i.etag, i.last_modified)
               for i in await store.list(prefix)]
    return plan_restore([o for o in objects if o], up_to=query.up_to, full_only=query.full_only)


def _warm_checksum(state, plan: RestorePlan) -> str | None:
    digest = state.digest
    if digest is not None and digest.covers(o.etag for o in plan.objects):
        return digest.hasher.hexdigest()
    return None


async def _first_pass(store, plan: RestorePlan, chunk_size: int) -> tuple[str, int]:
    """Hash the body once without sending it: correct, slower, for cold chains."""
    hasher, length = hashlib.sha256(), 0
    async for chunk in _chain_bytes(store, plan, chunk_size):
        hasher.update(chunk)
        length += len(chunk)
    return hasher.hexdigest(), length


async def read_ahead(chunks, depth: int = 4):
    """Overlap reading from the store with writing to the client, holding at
    most `depth` chunks: throughput of a pipeline, memory of a few chunks."""
    queue: asyncio.Queue = asyncio.Queue(depth)
    done = object()

    async def produce():
        try:
            async for chunk in chunks:
                await queue.put(chunk)
            await queue.put(done)
        except asyncio.CancelledError:
            # The consumer stopped early (client gone, response cut) and cancelled us:
            # end. Handing this to a full queue would wait forever for a reader.
            raise
        except BaseException as exc:  # hand the failure to the consumer
            await queue.put(exc)

    task = asyncio.create_task(produce())
    try:
        while (item := await queue.get()) is not done:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def _chain_bytes(store, plan: RestorePlan, chunk_size: int):
    target = plan.full.objects[0].encoding
    for snapshot in (plan.full, *plan.deltas):
        source = snapshot.objects[0].encoding
        coder = transcode(source, target) if source is not target else None
        for obj in snapshot.objects:  # parts of a split snapshot, in order
            async for chunk in store.stream(obj.key, chunk_size):
                out = coder.feed(chunk) if coder else chunk
                if out:
                    yield out
        if coder:
            tail = coder.flush()
            if tail:
                yield tail
