"""POST /persist: admit, decide against the chain, stream into the store, answer.

The handler only sequences I/O; every decision is in the core:
emulator.protocol.function_rules (admission, body checks) and
emulator.protocol.chain_rules (store, duplicate or 409, with the re-checks a
warm cache needs, and the warm digest's steps). The per-instance lock is the
driver's (chains.Chains.lock).
"""
from __future__ import annotations

import asyncio
import logging
import os
import tempfile

from aiohttp import web

from emulator.protocol import chain_rules as cr
from emulator.protocol import function_rules as rules
from emulator.protocol import layout
from emulator.protocol.chain_rules import Stored
from emulator.protocol.persist_steps import carry_out_async, persist_steps
from emulator.protocol.warm_chain import ChainDigest

from .body import PersistBody
from .keys import BACKGROUND, CHAINS, CONFIG, INFLIGHT, STORE

log = logging.getLogger("wkp.function")


async def persist(request: web.Request) -> web.Response:
    app = request.app
    cfg, store, chains = app[CONFIG], app[STORE], app[CHAINS]
    h = rules.admit_persist(request.headers, now=cfg.clock(), inflight=request[INFLIGHT],
                            limits=cfg.limits)
    key = layout.object_key(h.tenant, h.engine, h.instance_id, h.kind, h.cursor_from,
                            h.cursor_to, h.encoding, h.part)
    state = chains.state(h.tenant, h.engine, h.instance_id)
    async with chains.lock(state):
        decision = await _decide(store, chains, state, h, key)
        body = PersistBody(request, h, secret=cfg.secret, limits=cfg.limits,
                           chain_hasher=_chain_extension(state, h))
        if not isinstance(decision, cr.Store):
            await body.drain()  # authenticate before answering anything
            if isinstance(decision, cr.Refuse):
                raise decision.error()
            return _answer(decision.first)
        return _answer(await _store(app, state, h, key, body))


async def _decide(store, chains, state, h, key) -> cr.Store | cr.Duplicate | cr.Refuse:
    """Carry out the reads the core asks for until it decides (persist_steps)."""
    # Once more than one instance has run, another may have moved the head since
    # this one last looked (instances.py): the steps then confirm before storing.
    steps = persist_steps(h, key, state, warm_trusted=chains.warm_head_trusted())

    async def load(refresh: bool):
        return await chains.load(store, state, refresh=refresh)

    async def read_key():
        info = await store.head(key)
        return cr.stored_from_metadata(key, h.cursor_to, info.metadata) if info else None
    return await carry_out_async(steps, load, read_key)


def _chain_extension(state, h):
    """A copy of the warm chain hasher to extend with this push, when the push
    continues the chain the digest covers (warm_chain.ChainDigest)."""
    digest = state.digest
    if not cr.extends_digest(digest.last if digest is not None else None, h):
        return None
    return digest.hasher.copy()


async def _store(app, state, h, key, body: PersistBody) -> Stored:
    cfg, store = app[CONFIG], app[STORE]
    stored_at = int(cfg.clock())
    status = cr.stored_status(cfg.async_storage)
    meta = cr.metadata_for(h, stored_at, status)
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
    step = cr.digest_step(h, etag_known=obj.etag != "", extended=body.chain_hasher is not None)
    if step is cr.DigestStep.START:
        state.digest = ChainDigest.starting(obj, body.hasher.copy(), h.encoding)
    elif step is cr.DigestStep.EXTEND:
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
    status, payload = cr.stored_response(stored)
    return web.json_response(payload, status=status)
