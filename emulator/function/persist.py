"""POST /persist: admit, decide against the chain, stream into the store, answer.

The handler only sequences I/O; every decision is in
emulator.protocol.function_rules (admission, body checks, chain rules).
"""
from __future__ import annotations

import asyncio
import logging
import os
import tempfile

from aiohttp import web

from emulator.protocol import layout
from emulator.protocol import function_rules as rules
from emulator.protocol.errors import CursorConflict
from emulator.protocol.function_rules import ChainAction, Stored

from . import chains as ch
from .body import PersistBody
from .keys import BACKGROUND, CHAINS, CONFIG, INFLIGHT, STORE

log = logging.getLogger("wkp.function")


async def persist(request: web.Request) -> web.Response:
    app = request.app
    cfg, store = app[CONFIG], app[STORE]
    h = rules.admit_persist(request.headers, now=cfg.clock(), inflight=request[INFLIGHT],
                            limits=cfg.limits)
    key = layout.object_key(h.tenant, h.engine, h.instance_id, h.kind, h.cursor_from,
                            h.cursor_to, h.encoding, h.part)
    state = app[CHAINS].state(h.tenant, h.engine, h.instance_id)
    async with state.lock:
        action, refusal, existing = await _decide(store, app[CHAINS], state, h, key)
        body = PersistBody(request, h, secret=cfg.secret, limits=cfg.limits,
                           chain_hasher=_chain_extension(state, h))
        if action is not ChainAction.STORE:
            await body.drain()  # authenticate before answering anything
            if refusal is not None:
                raise refusal
            return _answer(existing)
        return _answer(await _store(app, state, h, key, body))


async def _decide(store, chains, state, h, key):
    """(action, refusal, existing): refusals are re-checked against a fresh
    listing first, since a warm cache may lag behind another writer."""
    await chains.load(store, state)
    for refresh in (False, True):
        if refresh:
            await chains.load(store, state, refresh=True)
        try:
            action = rules.decide_chain(h, key, state.head, state.existing(key))
            return action, None, state.existing(key)
        except CursorConflict as exc:
            refusal = exc
    info = await store.head(key)  # a retry of an older push than the head?
    existing = ch.stored_from_metadata(key, h.cursor_to, info.metadata) if info else None
    if existing is not None and existing.checksum == h.checksum:
        return ChainAction.DUPLICATE, None, existing
    return None, refusal, None


def _starts_chain(h) -> bool:
    return h.kind == "full" and (h.part is None or h.part.index == 1)


def _continues(last, h) -> bool:
    """Does this push come right after `last` in restore order, byte for byte?"""
    if last is None or last.encoding is not h.encoding:
        return False
    if h.part is not None and h.part.index > 1:  # the next part of the same snapshot
        return (last.part is not None and last.part.index == h.part.index - 1
                and last.part.count == h.part.count and last.kind == h.kind
                and last.cursor_to == h.cursor_to and last.cursor_from == h.cursor_from)
    last_complete = last.part is None or last.part.index == last.part.count
    return h.kind == "delta" and last_complete and last.cursor_to == h.cursor_from


def _chain_extension(state, h):
    """A copy of the warm chain hasher to extend with this push, when the push
    continues the chain the digest covers (see chains.ChainDigest)."""
    digest = state.digest
    if _starts_chain(h) or digest is None or not _continues(digest.last, h):
        return None
    return digest.hasher.copy()


def _metadata(h, stored_at: int, status: int) -> dict[str, str]:
    return {ch.META_CHECKSUM: h.checksum, ch.META_REQUEST_ID: h.request_id,
            ch.META_STORED_AT: str(stored_at), ch.META_STATUS: str(status)}


async def _store(app, state, h, key, body: PersistBody) -> Stored:
    cfg, store = app[CONFIG], app[STORE]
    stored_at = int(cfg.clock())
    status = 202 if cfg.async_storage else 200
    meta = _metadata(h, stored_at, status)
    if cfg.async_storage:
        spool = await _spool(body)
        etag = None
        state.pending[key] = layout.parse_key(key, body.length, "", float(stored_at))
        task = asyncio.create_task(_upload_later(app, state, key, spool, meta))
        app[BACKGROUND].add(task)
        task.add_done_callback(app[BACKGROUND].discard)
    else:
        try:
            info = await store.put_stream(key, body.chunks(), meta)
        except BaseException:
            state.forget()  # the store may or may not hold it: relist next time
            raise
        etag = info.etag
    obj = layout.parse_key(key, body.length, etag or "", float(stored_at))
    stored = Stored(key, h.checksum, h.cursor_to, stored_at, status, h.request_id)
    state.record(obj, stored)
    _advance_digest(state, h, obj, body)
    return stored


def _advance_digest(state, h, obj, body: PersistBody) -> None:
    if obj.etag == "":
        state.digest = None  # 202: the ETag is not known until the upload ends
    elif _starts_chain(h):
        state.digest = ch.ChainDigest.starting(obj, body.hasher.copy(), h.encoding)
    elif body.chain_hasher is not None:
        state.digest = state.digest.extended(obj, body.chain_hasher)
    else:
        state.digest = None


async def _spool(body: PersistBody) -> str:
    fd, path = tempfile.mkstemp(prefix="wkp-spool-")
    try:
        with os.fdopen(fd, "wb") as f:
            async for chunk in body.chunks():
                f.write(chunk)
    except BaseException:
        os.unlink(path)
        raise
    return path


async def _upload_later(app, state, key, path, meta) -> None:
    """202 mode: the push was verified and acknowledged; now store it, retrying."""
    store = app[STORE]
    try:
        for attempt in range(5):
            try:
                await store.put_stream(key, _file_chunks(path), meta)
                state.pending.pop(key, None)
                return
            except Exception as exc:  # keep trying: the engine was told "accepted"
                log.warning("async upload of %s failed (attempt %d): %s", key, attempt + 1, exc)
                await asyncio.sleep(min(2 ** attempt, 10))
        log.error("async upload of %s abandoned after 5 attempts", key)
        state.pending.pop(key, None)
        state.forget()
    finally:
        os.unlink(path)


async def _file_chunks(path):
    with open(path, "rb") as f:
        while chunk := f.read(1024 * 1024):
            yield chunk


def _answer(stored: Stored) -> web.Response:
    status, payload = rules.stored_response(stored)
    return web.json_response(payload, status=status)
