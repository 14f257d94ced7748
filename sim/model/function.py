"""The WKP-1 function on virtual time: the live function's rules over an in-memory store.

Every decision is the live function's own: injected faults (FaultTable, the
same table and rules the live function applies), concurrency (429 with
Retry-After), clock freshness (401, signing.check_freshness), size (413 naming
the limit), store outages (503), the chain rules (function_rules.decide_chain
against the instance's chain head, with the live function's refresh-before-
refusing and duplicate answers) and restores (restore_plan.plan_restore, and
lineage takeover through takeover.lineage_candidates with a create-only claim).
What is modelled rather than run is I/O: bodies are sizes (MemoryStore
put_virtual), and each answer's time is computed from the network, a per-
request service time and the store's latency (calibration).

`persist`, `restore` and `health` return (event, delay_s): the machine event the
engine receives and how long after the request it arrives. No SimPy here: the
engine model schedules the answer.
"""
from __future__ import annotations

import json
import random
from collections import Counter
from dataclasses import dataclass

from emulator.function.faults import FaultTable
from emulator.protocol import layout
from emulator.protocol.cursor import Cursor
from emulator.protocol.engine_events import NetworkError, Response, Restored
from emulator.protocol.errors import ChainGap, CursorConflict, ProtocolError
from emulator.protocol.function_rules import ChainAction, Limits, Stored, decide_chain
from emulator.protocol.restore_plan import chain_head, plan_restore
from emulator.protocol.signing import check_freshness
from emulator.protocol.takeover import Claim, lineage_candidates
from emulator.store.memory import MemoryStore

from .network import Network

DROPPED = "dropped"  # as emulator.function.metrics counts a connection the outage fault closed
ANSWER_BYTES = 64    # a JSON answer ({"cursor": ..., "stored_at": ...}) on the wire


@dataclass(frozen=True)
class ServiceTimes:
    """Seconds the function spends on a request besides the network (calibration)."""
    persist_s: float = 0.004
    restore_s: float = 0.006
    health_s: float = 0.001
    store_call_s: float = 0.002
    store_bandwidth_bps: float = 200e6
    takeover_lease_s: float = 120.0

    @classmethod
    def from_calibration(cls, calibration: dict | None) -> "ServiceTimes":
        known = {k: float(v) for k, v in (calibration or {}).items() if k in cls.__dataclass_fields__}
        return cls(**known)


@dataclass(frozen=True)
class PushHead:
    """The parts of a push's headers the chain rules read."""
    kind: str
    cursor_from: Cursor | None
    cursor_to: Cursor
    checksum: str


class Warm:
    """What the function remembers of one instance (emulator.function.chains, minus I/O)."""
    __slots__ = ("prefix", "objects", "head", "last", "loaded")

    def __init__(self, prefix: str):
        self.prefix, self.objects, self.head, self.last, self.loaded = prefix, {}, None, None, False

    def existing(self, key: str) -> Stored | None:
        return self.last if self.last is not None and self.last.key == key else None


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
                 rng: random.Random, times: ServiceTimes = ServiceTimes()):
        self.store, self.limits, self.faults, self.network = store, limits, faults, network
        self.rng, self.times = rng, times
        self.now = 0.0
        self.inflight = 0
        self.requests: Counter = Counter()   # (path, status) -> n
        self.bytes_in: Counter = Counter()
        self.bytes_out: Counter = Counter()
        self.latency_sum: Counter = Counter()
        self.busy_s = 0.0                    # function busy-seconds (GB-seconds for costs)
        self._warm: dict[str, Warm] = {}
        self.pool = None                     # an InstancePool, when the scenario models instances

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

    def _admit(self, path: str, caller: Caller, size: int) -> tuple[object, float] | None:
        """Faults, concurrency and freshness: an early answer, or None to go on."""
        rtt = self.network.one_way(self.rng) + self.network.one_way(self.rng, size)
        if self.network.lost(self.rng):
            return NetworkError(0, 0.0, "connection failed (simulated loss)"), rtt
        hit = self.faults.on_request(path, size)
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
        try:
            check_freshness(int(self.now + caller.clock_skew_s), self.now, self.limits.max_skew_s)
        except ProtocolError as exc:
            self._observe(path, 401, 0.0, size, ANSWER_BYTES)
            return Response(0, 0.0, 401, reason=str(exc)), rtt
        return None

    def _store_down(self) -> tuple[bool, float]:
        hit = self.faults.on_store_call()
        return hit.drop, hit.delay_s

    def _finish(self, path: str, status: int, service: float, bytes_in: int, bytes_out: int,
                rtt_extra: float) -> float:
        """Record the request; returns its total time as the engine sees it."""
        self._observe(path, status, service, bytes_in, bytes_out)
        return service + rtt_extra

    def _hold(self, seconds: float, release) -> None:
        """Count the request in flight for `seconds` (the caller schedules `release`)."""
        self.inflight += 1
        release(seconds, self._release)

    def _release(self) -> None:
        self.inflight -= 1

    # ---- the warm cache ------------------------------------------------------------
    def _warm_state(self, prefix: str, refresh: bool = False) -> Warm:
        warm = self._warm.get(prefix)
        if warm is None:
            warm = self._warm[prefix] = Warm(prefix)
        if not warm.loaded or refresh:
            warm.objects = {}
            for info in self.store.list_now(prefix):
                obj = layout.parse_key(info.key, info.size, info.etag, info.last_modified)
                if obj is not None:
                    warm.objects[obj.key] = obj
            warm.head = chain_head(warm.objects.values())
            warm.last = None
            warm.loaded = True
            self._prune(warm)
        return warm

    def _prune(self, warm: Warm) -> None:
        if warm.head is not None:
            warm.objects = {k: o for k, o in warm.objects.items() if o.cursor_to >= warm.head}

    def _retire_below(self, warm: Warm, full: Cursor) -> None:
        """Objects older than a complete full are never restored again: keep them as
        counted bytes only (MemoryStore.retire), so months of pushes fit in memory."""
        for info in self.store.list_now(warm.prefix + "delta/") + self.store.list_now(warm.prefix + "full/"):
            obj = layout.parse_key(info.key)
            if obj is not None and obj.cursor_to < full:
                self.store.retire(info.key)
        self.store.calls["LIST"] -= 2  # bookkeeping of the model, not requests of the function

    # ---- POST /persist --------------------------------------------------------------
    def persist(self, caller: Caller, *, kind: str, cursor_from, cursor_to, part, length: int,
                checksum: str, release) -> tuple[object, float]:
        early = self._admit("/persist", caller, length)
        if early is not None:
            return early
        rtt = self.network.one_way(self.rng) + self.network.one_way(self.rng, length)
        service = self.times.persist_s + self._delay
        if length > self.limits.max_payload:
            limit = self.limits.max_payload
            t = self._finish("/persist", 413, service, length, ANSWER_BYTES, rtt)
            return Response(0, 0.0, 413, max_payload=limit, reason=f"over the {limit}-byte limit"), t
        down, store_delay = self._store_down()
        service += store_delay + self.times.store_call_s
        if down:
            t = self._finish("/persist", 503, service, length, ANSWER_BYTES, rtt)
            return Response(0, 0.0, 503, reason="object store unavailable"), t
        key = caller.prefix + layout.object_name(kind, cursor_from, cursor_to, caller.encoding, part)
        head = PushHead(kind, cursor_from, cursor_to, checksum)
        action, status, reason, stored = self._decide(caller.prefix, head, key)
        if action is None:
            t = self._finish("/persist", status, service, length, ANSWER_BYTES, rtt)
            return Response(0, 0.0, status, reason=reason), t
        if action is ChainAction.STORE:
            service += self.times.store_call_s + length / self.times.store_bandwidth_bps
            stored = self._store(caller.prefix, head, key, part, length)
        t = self._finish("/persist", stored.status, service, length, ANSWER_BYTES, rtt)
        self._hold(t, release)
        return Response(0, 0.0, stored.status, cursor=stored.cursor_to,
                        stored_at=float(stored.stored_at)), t

    def _decide(self, prefix: str, head: PushHead, key: str):
        """(action, status, reason, existing) as emulator/function/persist.py decides."""
        refusal = None
        for refresh in (False, True):
            warm = self._warm_state(prefix, refresh)
            try:
                action = decide_chain(head, key, warm.head, warm.existing(key))
                return action, None, "", warm.existing(key)
            except CursorConflict as exc:
                refusal = exc
        info = self.store.head_now(key)
        if info is not None and info.metadata.get("wkp-checksum") == head.checksum:
            meta = info.metadata
            return ChainAction.DUPLICATE, None, "", Stored(key, head.checksum, head.cursor_to,
                                                           int(meta["wkp-stored-at"]),
                                                           int(meta["wkp-status"]), "")
        return None, 409, str(refusal), None

    def _store(self, prefix: str, head: PushHead, key: str, part, length: int) -> Stored:
        stored_at = int(self.now)
        status = 200
        self.store.put_virtual(key, length, {"wkp-checksum": head.checksum,
                                             "wkp-stored-at": str(stored_at), "wkp-status": str(status)})
        warm = self._warm[prefix]
        obj = layout.parse_key(key, length, "", float(stored_at))
        warm.objects[key] = obj
        stored = Stored(key, head.checksum, head.cursor_to, stored_at, status, "")
        warm.last = stored
        warm.head = chain_head(warm.objects.values()) if part else max(
            filter(None, (warm.head, head.cursor_to)))
        self._prune(warm)
        if head.kind == "full" and (part is None or part.index == part.count):
            self._retire_below(warm, head.cursor_to)
        return stored

    # ---- GET /restore ------------------------------------------------------------------
    def restore(self, caller: Caller, *, takeover: bool, local_lsn: int, release) -> tuple[object, float]:
        early = self._admit("/restore", caller, 0)
        if early is not None:
            return early
        rtt = self.network.one_way(self.rng) + self.network.one_way(self.rng)
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
        service += len(plan.objects) * self.times.store_call_s + size / self.times.store_bandwidth_bps
        self.store.calls["GET"] += len(plan.objects)
        transfer = self.network.one_way(self.rng, size) - self.network.one_way(self.rng)
        t = self._finish("/restore", 200, service, 0, size, rtt + max(0.0, transfer))
        self._hold(t, release)
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
    def health(self, caller: Caller) -> tuple[object, float]:
        early = self._admit("/health", caller, 0)
        if early is not None:
            return early
        rtt = self.network.one_way(self.rng) + self.network.one_way(self.rng)
        down, store_delay = self._store_down()
        service = self.times.health_s + self._delay + store_delay
        status = 503 if down else 200
        return Response(0, 0.0, status), self._finish("/health", status, service, 0, ANSWER_BYTES, rtt)
