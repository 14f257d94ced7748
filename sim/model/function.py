"""The WKP-1 function on virtual time: the live function's rules over an in-memory store.

Every decision is the live function's own: injected faults (FaultTable, the
same table and rules the live function applies), concurrency (429 with
Retry-After), clock freshness (401, signing.check_freshness), size (413 naming
the limit), store outages (503), the chain rules (chain_rules, with the reads
persist_steps asks for, carried out as emulator/function/persist.py does: a
LoadListing is a LIST of the instance prefix, a ReadKey a HEAD of the push's key)
and restores (restore_plan.plan_restore, and lineage takeover through
takeover.lineage_candidates with a create-only claim).
What is modelled rather than run is I/O: bodies are sizes (MemoryStore
put_virtual), and each answer's time is computed from the network, a per-
request service time and the store's latency (calibration).

Warm state is kept as the live host keeps it (seed 002): per function instance
when there is an instance pool (a cold instance starts empty and lists; a
reaped one's memory is dropped), once for the whole function without one.

`persist`, `restore` and `health` return (event, delay_s): the machine event the
engine receives and how long after the request it arrives. No SimPy here: the
engine model schedules the answer.
"""
from __future__ import annotations

import heapq
import json
import random
from collections import Counter
from dataclasses import dataclass
from typing import NamedTuple

from emulator.function.faults import FaultTable, Hit
from emulator.protocol.function_instances import Grant, InstancePool
from emulator.protocol import layout
from emulator.protocol.cursor import Cursor
from emulator.protocol.chain_rules import Refuse, Store, Stored, metadata_for, stored_from_metadata, stored_status
from emulator.protocol.engine_events import NetworkError, Response, Restored
from emulator.protocol.errors import ChainGap, ProtocolError
from emulator.protocol.function_rules import Limits
from emulator.protocol.persist_steps import carry_out, decided_without_reads, persist_steps
from emulator.protocol.restore_plan import plan_restore
from emulator.protocol.signing import check_freshness
from emulator.protocol.takeover import Claim, lineage_candidates
from emulator.protocol.warm_chain import InstanceState
from emulator.store.memory import MemoryStore

from .network import Network

DROPPED = "dropped"  # as emulator.function.metrics counts a connection the outage fault closed
PRUNE_AT = 16        # warm objects kept before those below the chain head are dropped
NO_HIT = Hit()       # what an empty fault table does to a request
ANSWER_BYTES = 64    # a JSON answer ({"cursor": ..., "stored_at": ...}) on the wire


@dataclass(frozen=True)
class ServiceTimes:
    """Seconds the function spends on a request besides the network (calibration)."""
    persist_s: float = 0.004
    restore_s: float = 0.006
    health_s: float = 0.001
    store_call_s: float = 0.002
    store_bandwidth_bps: float = 200e6      # a persist's bytes into the store
    restore_bandwidth_bps: float = 400e6    # a restore's bytes out of the store
    takeover_lease_s: float = 120.0

    @classmethod
    def from_calibration(cls, calibration: dict | None) -> "ServiceTimes":
        known = {k: float(v) for k, v in (calibration or {}).items() if k in cls.__dataclass_fields__}
        return cls(**known)


class PushHead(NamedTuple):
    """A push as the chain rules read it (chain_rules.PushFacts). The engine model sends
    no request id: the metadata records an empty one."""
    kind: str
    cursor_from: Cursor | None
    cursor_to: Cursor
    checksum: str
    encoding: object
    part: object
    request_id: str = ""


class Warm(InstanceState):
    """What one function instance remembers of one engine instance (warm_chain.InstanceState).

    Pruned in batches: a push leaves one object below the head behind, and
    rebuilding the dict on every push costs more than the decision. Objects below
    the head never change a decision (the head is a max; a key below it is never
    judged Store, so `listed_at_key` cannot read them)."""

    def prune(self) -> None:
        if len(self.objects) > PRUNE_AT:
            super().prune()


class Listing(InstanceState):
    """What a LIST of one engine instance's prefix finds, kept as the function stores.

    The simulated function is the only writer of snapshot objects, so the listing
    is known without scanning the store: a LIST is counted and timed, and its
    result (the objects at or above the head, and the head) comes from here. Once
    several function instances have run, every push relists; parsing the whole
    prefix on each would cost more than the rest of the push many times over.
    Pruned on every push (InstanceState.prune), so it holds the one or two objects
    at the head and a reload from it is cheap.
    `since_full` lists the snapshot keys stored since the last complete full (with
    their end cursors), which the next complete full retires (SimFunction._retire_below)."""

    def __init__(self, prefix: str):
        super().__init__(prefix)
        self.since_full: list = []


@dataclass
class Caller:
    """Who calls: an engine pod's identity as its requests carry it."""
    tenant: str
    engine: str
    instance_id: str
    encoding: object
    clock_skew_s: float = 0.0
    prefix: str = ""


class SimFunction:
    def __init__(self, store: MemoryStore, *, limits: Limits, faults: FaultTable, network: Network,
                 rng: random.Random, times: ServiceTimes = ServiceTimes(), pool: InstancePool | None = None,
                 platform=None):
        self.store, self.limits, self.faults, self.network = store, limits, faults, network
        # The platform around the function (emulator/function/config.PlatformLimits): timeout,
        # response cap, streamed rate. None: the function's own limits only.
        self.platform = platform
        self.rng, self.times = rng, times
        self.now = 0.0
        self._busy_until: list[float] = []  # heap: when each request in flight ends
        self.requests: Counter = Counter()   # (path, status) -> n
        self.bytes_in: Counter = Counter()
        self.bytes_out: Counter = Counter()
        self.latency_sum: Counter = Counter()
        self.busy_s = 0.0                    # function busy-seconds (GB-seconds for costs)
        # Warm state by function instance (None: no pool, one instance), then by engine
        # instance prefix; an instance's entry goes when the pool reaps it.
        self._warm: dict[str | None, dict[str, Warm]] = {}
        # What a LIST of each engine instance's prefix finds (Listing): the store's, not an
        # instance's memory.
        self._listings: dict[str, Listing] = {}
        # Function instances (seed 002), the live host's pure pool: cold starts, per-instance
        # concurrency, the instance limit (429). Releases are queued by their end time and
        # applied before the next acquire, so the pool sees time only move forward.
        self.pool = pool
        self._releases: list[tuple[float, int, str]] = []
        self._release_seq = 0
        self._instance: str | None = None
        self._cold_s = 0.0

    # ---- bookkeeping --------------------------------------------------------------
    def _observe(self, path: str, status, seconds: float, bytes_in: int, bytes_out: int) -> None:
        key = (path, status)
        self.requests[key] += 1
        self.bytes_in[path] += bytes_in
        self.bytes_out[path] += bytes_out
        self.latency_sum[path] += seconds
        self.busy_s += seconds

    def snapshot(self) -> dict:
        """The live function's counters in the shape of GET /v1/function (Metrics.snapshot)."""
        out = {}
        for path in sorted({p for p, _ in self.requests}):
            counts = {str(s): n for (p, s), n in sorted(self.requests.items(), key=lambda i: str(i[0]))
                      if p == path}
            total = sum(counts.values())
            out[path] = {"requests": counts, "bytes_in": self.bytes_in[path],
                         "bytes_out": self.bytes_out[path],
                         "latency_mean_s": round(self.latency_sum[path] / max(1, total), 6)}
        return out

    def reset_store(self) -> None:
        self.store.clear()
        self._warm.clear()
        self._listings.clear()

    def _admit(self, path: str, caller: Caller, size: int) -> tuple[object, float] | None:
        """Faults, concurrency and freshness: an early answer, or None to go on."""
        rtt = self.network.round_trip(self.rng, size)
        if self.network.lost(self.rng):
            return NetworkError(0, 0.0, "connection failed (simulated loss)"), rtt
        # An empty fault table (the common case) hits nothing and draws nothing from its rng:
        # skip building its Hit (the same answer, a tenth of a request's cost).
        hit = self.faults.on_request(path, size) if self.faults.list() else NO_HIT
        if hit.drop:
            self._observe(path, DROPPED, hit.delay_s, size, 0)
            return NetworkError(0, 0.0, "connection dropped (outage)"), rtt + hit.delay_s
        if hit.status is not None:
            self._observe(path, hit.status, hit.delay_s, size, ANSWER_BYTES)
            retry = hit.headers.get("Retry-After")
            limit = hit.headers.get("X-WeftKit-Max-Payload")
            return Response(0, 0.0, hit.status, retry_after=float(retry) if retry else None,
                            max_payload=int(limit) if limit else None, reason=hit.reason), \
                rtt + hit.delay_s
        self._delay = hit.delay_s
        if self.inflight >= self.limits.max_inflight:
            self._observe(path, 429, 0.0, size, ANSWER_BYTES)
            return Response(0, 0.0, 429, retry_after=float(self.limits.retry_after_s),
                            reason="too many requests in flight"), rtt
        self._instance, self._cold_s = None, 0.0
        if self.pool is not None:
            self._release_due()
            grant = self.pool.acquire(self.now)
            if not isinstance(grant, Grant):
                self._observe(path, 429, 0.0, size, ANSWER_BYTES)
                return Response(0, 0.0, 429, retry_after=float(int(grant.retry_after_s)),
                                reason=f"all {self.pool.limit} function instances are busy"), rtt
            self._instance, self._cold_s = grant.instance_id, max(0.0, grant.ready_at - self.now)
            self._delay += self._cold_s
        try:  # an unskewed clock is always fresh: the check is for skew faults
            if caller.clock_skew_s:
                check_freshness(int(self.now + caller.clock_skew_s), self.now, self.limits.max_skew_s)
        except ProtocolError as exc:
            self._observe(path, 401, 0.0, size, ANSWER_BYTES)
            return Response(0, 0.0, 401, reason=str(exc)), rtt
        return None

    def _store_down(self) -> tuple[bool, float]:
        if not self.faults.list():
            return False, 0.0
        hit = self.faults.on_store_call()
        return hit.drop, hit.delay_s

    def _finish(self, path: str, status: int, service: float, bytes_in: int, bytes_out: int,
                rtt_extra: float) -> float:
        """Record the request (its function instance busy meanwhile); returns its total time
        as the engine sees it."""
        self._observe(path, status, service, bytes_in, bytes_out)
        self._hold(service)
        return service + rtt_extra

    @property
    def inflight(self) -> int:
        """Requests in flight now: those whose answer has not gone out yet."""
        heap = self._busy_until
        while heap and heap[0] <= self.now:
            heapq.heappop(heap)
        return len(heap)

    def _hold(self, seconds: float) -> None:
        heapq.heappush(self._busy_until, self.now + seconds)
        if self._instance is not None:
            self._release_seq += 1
            heapq.heappush(self._releases, (self.now + seconds, self._release_seq, self._instance))
            self._instance = None

    def _release_due(self) -> None:
        while self._releases and self._releases[0][0] <= self.now:
            at, _, instance = heapq.heappop(self._releases)
            self.pool.release(instance, at)
        for gone in self.pool.reap(self.now):  # a reaped instance's memory is gone
            self._warm.pop(gone, None)

    def _timed_out(self, service: float) -> bool:
        timeout = self.platform.timeout_s if self.platform is not None else None
        return timeout is not None and service > timeout

    # ---- the warm cache ------------------------------------------------------------
    def _warm_state(self, prefix: str) -> Warm:
        """The serving instance's warm state of `prefix` (emulator/function/chains.Chains.state)."""
        states = self._warm.get(self._instance)
        if states is None:
            states = self._warm[self._instance] = {}
        warm = states.get(prefix)
        if warm is None:
            warm = states[prefix] = Warm(prefix)
        return warm

    def _load(self, warm: Warm) -> None:
        """A LIST of the instance prefix rebuilds the warm state (Chains.load)."""
        self.store.calls["LIST"] += 1
        listing = self._listings.get(warm.prefix)
        warm.reload(listing.objects.values() if listing is not None else (), {})

    def _head_trusted(self) -> bool:
        """instances.RoutedChains.warm_head_trusted: only while one instance has ever run."""
        return self.pool is None or self.pool.cold_starts <= 1

    def _retire_below(self, listing: Listing, full: Cursor) -> None:
        """Objects older than a complete full are never restored again: keep them as
        counted bytes only (MemoryStore.retire), so months of pushes fit in memory."""
        keep, retire = [], self.store.retire  # about one key per push since the last full
        for key, cursor_to in listing.since_full:
            if cursor_to < full:
                retire(key)
            else:
                keep.append((key, cursor_to))
        listing.since_full = keep

    # ---- POST /persist --------------------------------------------------------------
    def persist(self, caller: Caller, token: int, *, kind: str, cursor_from, cursor_to, part,
                length: int, checksum: str) -> tuple[object, float]:
        early = self._admit("/persist", caller, length)
        if early is not None:
            return _stamp(*early, token, self.now)
        rtt = self.network.round_trip(self.rng, length)
        service = self.times.persist_s + self._delay
        if length > self.limits.max_payload:
            limit = self.limits.max_payload
            t = self._finish("/persist", 413, service, length, ANSWER_BYTES, rtt)
            return self._answer(token, t, 413, max_payload=limit, reason=f"over the {limit}-byte limit")
        down, store_delay = self._store_down()
        service += store_delay + self.times.store_call_s
        if down:
            t = self._finish("/persist", 503, service, length, ANSWER_BYTES, rtt)
            return self._answer(token, t, 503, reason="object store unavailable")
        key = caller.prefix + layout.object_name(kind, cursor_from, cursor_to, caller.encoding, part)
        push = PushHead(kind, cursor_from, cursor_to, checksum, caller.encoding, part)
        warm = self._warm_state(caller.prefix)
        decision, reads = self._decide(warm, push, key)
        service += reads * (self.times.store_call_s + store_delay)
        if type(decision) is Refuse:
            t = self._finish("/persist", 409, service, length, ANSWER_BYTES, rtt)
            return self._answer(token, t, 409, reason=decision.reason)
        storing = type(decision) is Store
        if storing:
            service += self.times.store_call_s + store_delay + length / self.times.store_bandwidth_bps
        if self._timed_out(service):  # the platform answers 502; the upload never completed
            timeout = self.platform.timeout_s
            t = self._finish("/persist", 502, timeout, length, ANSWER_BYTES, rtt)
            return self._answer(token, t, 502, reason=f"the {self.platform.profile or 'platform'} "
                                f"timeout of {timeout:g} s passed")
        stored = self._store(warm, push, key, length, caller.instance_id) if storing else decision.first
        t = self._finish("/persist", stored.status, service, length, ANSWER_BYTES, rtt)
        # The answer is built once, stamped with the token and its arrival (as _stamp would).
        return Response(token, self.now + t, stored.status, None, None, stored.cursor_to,
                        float(stored.stored_at)), t

    def _answer(self, token: int, t: float, status: int, **fields) -> tuple[Response, float]:
        """A persist's answer other than a stored push, arriving `t` after the request."""
        return Response(token, self.now + t, status, **fields), t

    def _decide(self, warm: Warm, push: PushHead, key: str):
        """(Store | Duplicate | Refuse, store reads made): the reads the core asks for
        (persist_steps, as the live function carries them out), until it decides."""
        # A warm instance's common push takes no read: the core says so and what it decides
        # (decided_without_reads), without the generator and the callbacks below.
        trusted = self._head_trusted()
        decision = decided_without_reads(push, key, warm, warm_trusted=trusted)
        if decision is not None:
            return decision, 0
        reads = 0

        def load(refresh: bool) -> None:
            nonlocal reads
            reads += 1
            self._load(warm)

        def read_key():
            nonlocal reads
            reads += 1
            info = self.store.head_now(key)
            return stored_from_metadata(key, push.cursor_to, info.metadata) if info is not None else None
        # Once a second instance has run, another may have moved the head since this one
        # listed: the steps then confirm an acceptance against a fresh listing.
        decision = carry_out(persist_steps(push, key, warm, warm_trusted=trusted), load, read_key)
        return decision, reads

    def _store(self, warm: Warm, push: PushHead, key: str, length: int, instance_id: str) -> Stored:
        stored_at = int(self.now)
        status = stored_status(False)  # the simulated store holds the object before the answer
        prefix = warm.prefix
        self.store.put_virtual(key, length, metadata_for(push, stored_at, status),
                               directory=f"{prefix}{push.kind}/")
        obj = layout.StoredObject(key, instance_id, push.kind, push.cursor_from, push.cursor_to,
                                  push.encoding, push.part, length, "", float(stored_at))
        stored = Stored(key, push.checksum, push.cursor_to, stored_at, status, push.request_id)
        warm.record(obj, stored)
        listing = self._listings.get(prefix)
        if listing is None:
            listing = self._listings[prefix] = Listing(prefix)
        listing.record(obj, stored)
        listing.since_full.append((key, push.cursor_to))
        part = push.part
        if push.kind == "full" and (part is None or part.index == part.count):
            self._retire_below(listing, push.cursor_to)
        return stored

    # ---- GET /restore ------------------------------------------------------------------
    def restore(self, caller: Caller, token: int, *, takeover: bool, local_lsn: int) -> tuple[object, float]:
        return _stamp(*self._restore(caller, takeover, local_lsn), token, self.now)

    def _restore(self, caller: Caller, takeover: bool, local_lsn: int) -> tuple[object, float]:
        early = self._admit("/restore", caller, 0)
        if early is not None:
            return early
        rtt = self.network.round_trip(self.rng)
        down, store_delay = self._store_down()
        service = self.times.restore_s + self._delay + store_delay + self.times.store_call_s
        if down:
            t = self._finish("/restore", 503, service, 0, ANSWER_BYTES, rtt)
            return Response(0, 0.0, 503, reason="object store unavailable"), t
        try:
            plan, lineage = self._plan(caller, takeover)
        except ChainGap as exc:
            t = self._finish("/restore", 409, service, 0, ANSWER_BYTES, rtt)
            return Response(0, 0.0, 409, reason=str(exc)), t
        if plan is None:
            t = self._finish("/restore", 204, service, 0, 0, rtt)
            return Response(0, 0.0, 204), t
        size = plan.size
        service += len(plan.objects) * (self.times.store_call_s + store_delay) + size / self.times.restore_bandwidth_bps
        self.store.calls["GET"] += len(plan.objects)
        transfer = max(0.0, self.network.one_way(self.rng, size) - self.network.one_way(self.rng))
        p = self.platform
        if p is not None and p.stream_rate_bytes_s and size > p.stream_unthrottled_bytes:
            transfer = max(transfer, (size - p.stream_unthrottled_bytes) / p.stream_rate_bytes_s)
        cap = p.max_response_bytes if p is not None else None
        if cap is not None and size > cap:  # cut at the platform's largest response: a short body
            t = self._finish("/restore", DROPPED, service, 0, cap, rtt + transfer * cap / size)
            return NetworkError(0, 0.0, f"restore body cut at the platform's {cap}-byte maximum"), t
        if self._timed_out(service + transfer):  # the head went out: the platform cuts the stream
            timeout = p.timeout_s
            t = self._finish("/restore", DROPPED, timeout, 0, 0, rtt + timeout)
            return NetworkError(0, 0.0, f"restore cut at the {timeout:g} s platform timeout"), t
        t = self._finish("/restore", 200, service, 0, size, rtt + transfer)
        cursor = plan.cursor
        return Restored(0, 0.0, cursor, cursor.seq + local_lsn, lineage=lineage,
                        deltas=len(plan.deltas), size=size), t

    def _plan(self, caller: Caller, takeover: bool):
        objects = [layout.parse_key(i.key, i.size, i.etag, i.last_modified)
                   for i in self.store.list_now(caller.prefix)]
        plan = plan_restore([o for o in objects if o])
        if plan is not None or not takeover:
            return plan, None
        return self._adopt(caller)

    def _adopt(self, caller: Caller):
        """emulator/function/lineage.py over the in-memory store."""
        infos = self.store.list_now(layout.engine_prefix(caller.tenant, caller.engine))
        by_instance: dict[str, list] = {}
        claims = {}
        for info in infos:
            obj = layout.parse_key(info.key, info.size, info.etag, info.last_modified)
            if obj is not None:
                by_instance.setdefault(obj.instance_id, []).append(obj)
            elif info.key.endswith("/" + layout.CLAIM):
                data = json.loads(self.store.get_now(info.key))
                lineage = info.key.split("/")[3]
                claims[lineage] = Claim(lineage, data["claimed_by"], float(data["claimed_at"]), info.etag)
        for lineage in lineage_candidates(by_instance, claims, requester=caller.instance_id,
                                          now=self.now, lease_s=self.times.takeover_lease_s):
            plan = plan_restore(by_instance[lineage])
            if plan is None:
                continue
            old = claims.get(lineage)
            key = layout.claim_key(caller.tenant, caller.engine, lineage)
            if old is not None and old.claimed_by != caller.instance_id:
                self.store.delete_now(key)
            if old is None or old.claimed_by != caller.instance_id:
                body = json.dumps({"claimed_by": caller.instance_id, "claimed_at": self.now}).encode()
                self.store.put_now(key, body, if_absent=True)
            return plan, lineage
        return None, None

    # ---- GET /health -------------------------------------------------------------------
    def health(self, caller: Caller, token: int) -> tuple[object, float]:
        return _stamp(*self._health(caller), token, self.now)

    def _health(self, caller: Caller) -> tuple[object, float]:
        early = self._admit("/health", caller, 0)
        if early is not None:
            return early
        rtt = self.network.round_trip(self.rng)
        down, store_delay = self._store_down()
        service = self.times.health_s + self._delay + store_delay
        status = 503 if down else 200
        return Response(0, 0.0, status), self._finish("/health", status, service, 0, ANSWER_BYTES, rtt)


def _stamp(event, delay: float, token: int, now: float) -> tuple[object, float]:
    """The answer event with the request's token and the time it arrives (now + delay).
    Built field by field: dataclasses.replace costs more than the rest of a push."""
    at = now + delay
    if type(event) is Response:
        return Response(token, at, event.status, event.retry_after, event.max_payload, event.cursor,
                        event.stored_at, event.reason), delay
    if type(event) is Restored:
        return Restored(token, at, event.cursor, event.lsn, event.lineage, event.deltas, event.records,
                        event.size), delay
    return NetworkError(token, at, event.reason), delay
