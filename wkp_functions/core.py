"""The WKP-1 function as one synchronous, platform-neutral handler.

    core = FunctionCore(store, CoreConfig(secret=...))
    reply = core.handle("POST", "/persist", headers, body)   # -> Reply(status, headers, body)

`store` is a synchronous object store (wkp_functions.stores.SyncStore): S3
with boto3, GCS, Blob Storage. `body` is bytes or anything with read(n);
`reply.body` is bytes, or an iterator of chunks for a restore (a platform that
can stream sends them as they come; one that cannot joins them). Every
decision is made by the same pure modules the aiohttp function drives:
function_rules (admission, body checks), chain_rules (store, duplicate or
409), restore_plan, warm_chain (the warm state an instance keeps between its
own invocations), takeover (lineage adoption) and signing. What is here is
only the order of the store's reads and writes.

Warm state: a platform function cannot know whether other instances of it
are running (Lambda, Cloud Functions and Azure start more at will), so a
head remembered from an earlier invocation is never trusted to store on: it
is confirmed by a fresh listing first (chain_rules.decide, head_trusted=False).
The warm state still answers a retried push without a store read, and the
running chain digest still lets a restore send its checksum without reading
the chain twice (it is checked against the fresh listing's ETags).
"""
from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Callable, Iterator, Mapping
from urllib.parse import parse_qsl

from emulator.protocol import chain_rules as cr
from emulator.protocol import function_rules as rules
from emulator.protocol import layout
from emulator.protocol.codec import transcode
from emulator.protocol.errors import ProtocolError, StoreUnavailable
from emulator.protocol.headers import (HealthHeaders, PersistHeaders, RestoreHeaders, RestoreQuery,
                                       RestoreResponse)
from emulator.protocol.persist_steps import carry_out, persist_steps
from emulator.protocol.restore_plan import RestorePlan, plan_restore
from emulator.protocol.signing import EMPTY_BODY, SignedRequest, digest_of, verify
from emulator.protocol.takeover import DEFAULT_LEASE_S, Claim, lineage_candidates
from emulator.protocol.warm_chain import ChainDigest, InstanceState

from .stores import NotFound, PreconditionFailed, SyncStore

log = logging.getLogger("wkp.functions")

READ_CHUNK = 1024 * 1024
JSON = {"Content-Type": "application/json"}


@dataclass(frozen=True)
class Reply:
    """What the platform adapter sends back: `body` is bytes, or an iterator of
    chunks (a restore) whose length is in the Content-Length header."""
    status: int
    headers: dict[str, str]
    body: bytes | Iterator[bytes] = b""

    @property
    def streamed(self) -> bool:
        return not isinstance(self.body, (bytes, bytearray))

    def body_bytes(self) -> bytes:
        """The whole body in memory (for a platform that cannot stream)."""
        return bytes(self.body) if not self.streamed else b"".join(self.body)


@dataclass(frozen=True)
class CoreConfig:
    secret: str
    limits: rules.Limits = rules.Limits()
    takeover_lease_s: float = DEFAULT_LEASE_S
    restore_chunk: int = READ_CHUNK
    clock: Callable[[], float] = time.time

    def __post_init__(self):
        if not self.secret:
            raise ValueError("the function needs a non-empty secret (WEFTKIT_PERSIST_SECRET)")
        if self.restore_chunk < 1:
            raise ValueError(f"restore_chunk must be positive, got {self.restore_chunk}")


def json_reply(status: int, payload: dict, headers: Mapping[str, str] | None = None) -> Reply:
    return Reply(status, {**JSON, **(headers or {})}, json.dumps(payload).encode())


def error_reply(exc: ProtocolError) -> Reply:
    return json_reply(exc.status_hint, exc.to_json(), exc.headers)


# ---------------------------------------------------------------- warm state


@dataclass
class WarmChains:
    """The warm states of every engine instance this function instance has seen
    (pure InstanceState each), with a lock per instance: persists of one engine
    instance are decided one at a time against the head the previous one left."""
    _states: dict = field(default_factory=dict)
    _locks: dict = field(default_factory=lambda: defaultdict(threading.Lock))
    _guard: threading.Lock = field(default_factory=threading.Lock)

    def state(self, tenant: str, engine: str, instance_id: str) -> InstanceState:
        prefix = layout.instance_prefix(tenant, engine, instance_id)
        with self._guard:
            return self._states.setdefault(prefix, InstanceState(prefix))

    def lock(self, state: InstanceState) -> threading.Lock:
        with self._guard:
            return self._locks[state.prefix]

    @staticmethod
    def load(store: SyncStore, state: InstanceState, *, refresh: bool = False) -> None:
        if state.loaded and not refresh:
            return
        try:
            infos = store.list(state.prefix)
        except BaseException:
            state.forget()  # any doubt drops the entry
            raise
        listed = (layout.parse_key(i.key, i.size, i.etag, i.last_modified) for i in infos)
        state.reload((o for o in listed if o is not None), {})


# ---------------------------------------------------------------- the body


class _Body:
    """A persist body read once: hashed as it streams, the limit enforced, and
    verified when it ends (inside the generator, so a store's put_stream only
    commits a body that passed: function_rules gate 2)."""

    def __init__(self, source, h: PersistHeaders, path: str, query: str, config: CoreConfig,
                 chain_hasher=None):
        self._source, self._h, self._path, self._query, self._cfg = source, h, path, query, config
        self.hasher = hashlib.sha256()
        self.chain_hasher = chain_hasher
        self.length = 0

    def _raw(self) -> Iterator[bytes]:
        if isinstance(self._source, (bytes, bytearray, memoryview)):
            view = memoryview(self._source)
            for start in range(0, len(view), READ_CHUNK):
                yield bytes(view[start:start + READ_CHUNK])
            return
        while chunk := self._source.read(READ_CHUNK):
            yield chunk

    def chunks(self) -> Iterator[bytes]:
        limit = self._cfg.limits.max_payload
        for chunk in self._raw():
            self.length += len(chunk)
            if self.length > limit:
                raise rules.too_large(self.length, limit)
            self.hasher.update(chunk)
            if self.chain_hasher is not None:
                self.chain_hasher.update(chunk)
            yield chunk
        rules.check_body(self._h, secret=self._cfg.secret, path=self._path, query=self._query,
                         body_sha256=digest_of(self.hasher, self.length), body_length=self.length,
                         limits=self._cfg.limits)

    def drain(self) -> None:
        for _ in self.chunks():
            pass


# ---------------------------------------------------------------- the function


class FunctionCore:
    """One function instance: its store, its configuration and its warm state."""

    def __init__(self, store: SyncStore, config: CoreConfig):
        self.store, self.config = store, config
        self.chains = WarmChains()
        self._inflight = 0
        self._count = threading.Lock()

    def handle(self, method: str, path: str, headers: Mapping[str, str], body=b"",
               query: str | None = None) -> Reply:
        """One HTTP request. `path` may carry the query (`/restore?tenant=...`)
        when `query` is not given; `query` is the raw query string as sent,
        which the signature covers."""
        if query is None:
            path, _, query = path.partition("?")
        route = ROUTES.get(path)
        if route is None:
            return json_reply(404, {"error": "NotFound", "reason": f"no route {path}"})
        if method.upper() != route[0]:
            return json_reply(405, {"error": "MethodNotAllowed",
                                    "reason": f"{path} takes {route[0]}, not {method}"},
                              {"Allow": route[0]})
        with self._count:
            inflight = self._inflight
            self._inflight += 1
        try:
            rules.check_concurrency(inflight, self.config.limits)
            return route[1](self, path, query, headers, body, inflight)
        except ProtocolError as exc:
            if exc.status_hint >= 500:
                log.warning("%s %s: %s", method, path, exc.reason)
            return error_reply(exc)
        finally:
            with self._count:
                self._inflight -= 1

    # ---- POST /persist

    def persist(self, path, query, headers, body, inflight) -> Reply:
        cfg = self.config
        h = rules.admit_persist(headers, now=cfg.clock(), inflight=inflight, limits=cfg.limits)
        key = layout.object_key(h.tenant, h.engine, h.instance_id, h.kind, h.cursor_from,
                                h.cursor_to, h.encoding, h.part)
        state = self.chains.state(h.tenant, h.engine, h.instance_id)
        with self.chains.lock(state):
            decision = self._decide(state, h, key)
            reader = _Body(body, h, path, query, cfg, _chain_extension(state, h))
            if not isinstance(decision, cr.Store):
                reader.drain()  # authenticate before answering anything
                if isinstance(decision, cr.Refuse):
                    raise decision.error()
                return _answer(decision.first)
            return _answer(self._store(state, h, key, reader))

    def _decide(self, state: InstanceState, h, key):
        """Carry out the reads the core asks for until it decides (persist_steps). A
        remembered head is never trusted: other instances may have stored since."""
        def read_key():
            info = self.store.head(key)
            return cr.stored_from_metadata(key, h.cursor_to, info.metadata) if info else None
        return carry_out(persist_steps(h, key, state, warm_trusted=False),
                         lambda refresh: self.chains.load(self.store, state, refresh=refresh), read_key)

    def _store(self, state: InstanceState, h, key: str, body: _Body) -> cr.Stored:
        stored_at = int(self.config.clock())
        status = cr.stored_status(False)  # a platform function may be frozen after it answers
        meta = cr.metadata_for(h, stored_at, status)
        try:
            info = self.store.put_stream(key, body.chunks(), meta)
        except BaseException:
            state.forget()  # the store may or may not hold it: relist next time
            raise
        obj = layout.parse_key(key, body.length, info.etag, float(stored_at))
        stored = cr.Stored(key, h.checksum, h.cursor_to, stored_at, status, h.request_id)
        state.record(obj, stored)
        step = cr.digest_step(h, etag_known=bool(info.etag), extended=body.chain_hasher is not None)
        if step is cr.DigestStep.START:
            state.digest = ChainDigest.starting(obj, body.hasher.copy(), h.encoding)
        elif step is cr.DigestStep.EXTEND:
            state.digest = state.digest.extended(obj, body.chain_hasher)
        else:
            state.digest = None
        return stored

    # ---- GET /restore

    def restore(self, path, query, headers, body, inflight) -> Reply:
        cfg = self.config
        parsed = RestoreQuery.from_query(dict(parse_qsl(query, keep_blank_values=True)))
        h = RestoreHeaders.from_headers(headers, parsed)
        verify(cfg.secret, SignedRequest("GET", path, query, str(h.timestamp), h.request_id,
                                         EMPTY_BODY, h.signature), cfg.clock(), cfg.limits.max_skew_s)
        state = self.chains.state(parsed.tenant, parsed.engine, h.instance_id)
        plan = _plan(self.store.list(state.prefix), parsed)
        lineage = None
        if plan is None and parsed.takeover:
            plan, lineage = adopt_newest_lineage(self.store, parsed, h.instance_id, cfg)
        if plan is None:
            return Reply(204, {})
        encoding = plan.full.objects[0].encoding
        mixed = any(o.encoding is not encoding for o in plan.objects)
        checksum = None if mixed or lineage else _warm_checksum(state, plan)
        length = plan.size
        if checksum is None:  # hash once without sending: correct, slower, for cold chains
            hasher, length = hashlib.sha256(), 0
            for chunk in chain_bytes(self.store, plan, cfg.restore_chunk):
                hasher.update(chunk)
                length += len(chunk)
            checksum = hasher.hexdigest()
        out = RestoreResponse(cursor=plan.cursor, checksum=checksum, encoding=encoding,
                              deltas=len(plan.deltas), lineage=lineage).to_headers()
        out["Content-Length"] = str(length)
        return Reply(200, out, chain_bytes(self.store, plan, cfg.restore_chunk))

    # ---- GET /health

    def health(self, path, query, headers, body, inflight) -> Reply:
        cfg = self.config
        h = HealthHeaders.from_headers(headers)
        verify(cfg.secret, SignedRequest("GET", path, query, str(h.timestamp), h.request_id,
                                         EMPTY_BODY, h.signature), cfg.clock(), cfg.limits.max_skew_s)
        self.store.ping()
        return json_reply(200, {"status": "ok", "store": "reachable"})


ROUTES = {"/persist": ("POST", FunctionCore.persist),
          "/restore": ("GET", FunctionCore.restore),
          "/health": ("GET", FunctionCore.health)}


def _answer(stored: cr.Stored) -> Reply:
    status, payload = cr.stored_response(stored)
    return json_reply(status, payload)


def _chain_extension(state: InstanceState, h):
    digest = state.digest
    if not cr.extends_digest(digest.last if digest is not None else None, h):
        return None
    return digest.hasher.copy()


def _warm_checksum(state: InstanceState, plan: RestorePlan) -> str | None:
    digest = state.digest
    if digest is not None and digest.covers(o.etag for o in plan.objects):
        return digest.hasher.hexdigest()
    return None


def _plan(infos, query: RestoreQuery) -> RestorePlan | None:
    objects = [layout.parse_key(i.key, i.size, i.etag, i.last_modified) for i in infos]
    return plan_restore([o for o in objects if o], up_to=query.up_to, full_only=query.full_only)


def chain_bytes(store: SyncStore, plan: RestorePlan, chunk_size: int) -> Iterator[bytes]:
    """The restore body: the full then its deltas, re-encoded into the full's
    encoding where a delta was stored in another one."""
    target = plan.full.objects[0].encoding
    for snapshot in (plan.full, *plan.deltas):
        source = snapshot.objects[0].encoding
        coder = transcode(source, target) if source is not target else None
        for obj in snapshot.objects:
            try:
                chunks = store.stream(obj.key, chunk_size)
                for chunk in chunks:
                    out = coder.feed(chunk) if coder else chunk
                    if out:
                        yield out
            except NotFound:
                raise StoreUnavailable(f"{obj.key} vanished between the listing and the read") from None
        if coder and (tail := coder.flush()):
            yield tail


# ---------------------------------------------------------------- lineage takeover (I/O half)


def adopt_newest_lineage(store: SyncStore, query: RestoreQuery, requester: str, cfg: CoreConfig):
    """The synchronous twin of emulator/function/lineage.py: list the engine's
    subtree, rank candidates with the pure takeover policy, claim the first
    with a create-only put. (plan, lineage) or (None, None)."""
    infos = store.list(layout.engine_prefix(query.tenant, query.engine))
    by_instance: dict[str, list] = defaultdict(list)
    claims: dict[str, Claim] = {}
    for info in infos:
        obj = layout.parse_key(info.key, info.size, info.etag, info.last_modified)
        if obj is not None:
            by_instance[obj.instance_id].append(obj)
        elif info.key.endswith("/" + layout.CLAIM):
            claim = _read_claim(store, info)
            if claim is not None:
                claims[claim.lineage] = claim
    now = cfg.clock()
    for lineage in lineage_candidates(by_instance, claims, requester=requester, now=now,
                                      lease_s=cfg.takeover_lease_s):
        plan = plan_restore(by_instance[lineage], up_to=query.up_to, full_only=query.full_only)
        if plan is not None and _claim(store, query, lineage, requester, now, claims.get(lineage)):
            return plan, lineage
    return None, None


def _read_claim(store: SyncStore, info) -> Claim | None:
    lineage = info.key.split("/")[3]
    try:
        data = json.loads(store.get(info.key))
        return Claim(lineage, data["claimed_by"], float(data["claimed_at"]), info.etag)
    except (NotFound, ValueError, KeyError, TypeError):
        return None  # a vanished or unreadable claim binds nobody


def _claim(store: SyncStore, query, lineage: str, requester: str, now: float, old: Claim | None) -> bool:
    key = layout.claim_key(query.tenant, query.engine, lineage)
    if old is not None and old.claimed_by == requester:
        return True
    body = json.dumps({"claimed_by": requester, "claimed_at": now}).encode()
    if old is not None:
        current = store.head(key)
        if current is None or current.etag != old.etag:
            return False  # someone else replaced it since we looked
        store.delete(key)
    try:
        store.put(key, body, if_absent=True)
        return True
    except PreconditionFailed:
        return False

