"""The control surface as one object: what the control API, the CLI verbs, the TUI and
the scenario runner ask of a running emulator, decided here and not in HTTP handlers.

    ControlSurface(supervisor)
        .health() -> HealthView            the "degraded" rule (policy.health_status) and why
        .fleet() / .engine(name) -> FleetView / EngineView
        .engine_status(name)               its whole last /status
        .function() -> dict                the function's counters
        .store() -> StoreView              objects per tenant / engine / instance
        .store_objects(tenant, engine, instance)   one instance's objects (the store browser)
        .discovery() -> DiscoveryView      discovery's members (relayed), or disabled
        .faults() / .set_fault(spec) / .clear_faults()   routed to where each applies
        .reset_store() -> int              empty the store and what describes it
        .ledger(name, tail)                an engine's write ledger tail and recovery report
        .workload(name) / .set_workload(name, body) / .set_kind_workload(kind, body)
                                           the write generators, per engine or per kind
        .watch()                           emits what the poll alone does not: a service
                                           that stopped under us (service.failed)

Views are frozen dataclasses with `to_json()`, so the API serializes them and the
TUI and scenarios get typed shapes rather than dicts to diff.
"""
from __future__ import annotations

import asyncio
import time
from dataclasses import asdict, dataclass, field

import aiohttp

from .policy import health_status


@dataclass(frozen=True)
class HealthView:
    status: str                      # running | degraded
    services: dict
    engines: dict
    failures: dict
    uptime_s: float

    def to_json(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class EngineView:
    name: str
    kind: str
    state: str
    generation: int
    pid: int | None
    port: int | None
    instance_id: str
    cursor: str | None
    lsn: int | None
    durable_lsn: int | None
    last_push: dict | None
    buffered_bytes: int | None
    boot: dict | None
    discovery: dict | None
    phase: str | None
    alerts: int
    failure: str | None
    extra: dict = field(default_factory=dict)  # the rest of the pod's JSON (paths, times)

    @classmethod
    def of(cls, pod) -> "EngineView":
        data = pod.to_json()
        known = {f for f in cls.__dataclass_fields__ if f != "extra"}
        status = pod.status or {}
        return cls(**{k: data.get(k) for k in known if k not in ("phase", "alerts")},
                   phase=status.get("phase"), alerts=int(status.get("alerts") or 0),
                   extra={k: v for k, v in data.items() if k not in known})

    def to_json(self) -> dict:
        out = {k: v for k, v in asdict(self).items() if k != "extra"}
        out.update(self.extra)
        return out


@dataclass(frozen=True)
class FleetView:
    engines: tuple[EngineView, ...]

    def to_json(self) -> dict:
        return {"engines": [e.to_json() for e in self.engines]}


@dataclass(frozen=True)
class StoreView:
    objects: int
    bytes: int
    tenants: dict

    def to_json(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class DiscoveryView:
    enabled: bool
    members: tuple
    status: int = 200                 # what discovery answered (relayed as is)
    raw: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return self.raw if self.raw else {"enabled": self.enabled, "members": list(self.members)}


MAX_LEDGER_TAIL = 100_000


def require_kind(kind: str) -> str:
    """`kind` if it is an engine kind; ActionError (404) naming the kinds if not."""
    from emulator.protocol.names import ENGINE_KINDS
    from .supervisor import ActionError
    if kind not in ENGINE_KINDS:
        raise ActionError(f"unknown kind {kind!r}; kinds are {', '.join(ENGINE_KINDS)}", 404)
    return kind


def ledger_tail_size(text: str) -> int:
    """The `tail` query of the ledger route as a number of entries (0: all of them);
    ActionError (400) naming the parameter for anything else, a number too big to
    convert included."""
    from .supervisor import ActionError
    if not (text.isascii() and text.isdigit() and len(text) <= 6 and int(text) <= MAX_LEDGER_TAIL):
        shown = text if len(text) <= 20 else text[:20] + f"… ({len(text)} characters)"
        raise ActionError(f"tail must be a whole number of entries from 0 (all) to {MAX_LEDGER_TAIL}, "
                          f"got {shown!r}")
    return int(text)


def service_transitions(before: dict, now: dict, *, stopping: bool) -> list[tuple[str, str, str]]:
    """A service that was running and is not any more: failed, unless the emulator is
    stopping (then it was stopped). Pure; `before` empty means nothing is known yet."""
    out = []
    for name, state in now.items():
        if before.get(name) == "running" and state not in ("running", "disabled"):
            out.append(("service.stopped" if stopping else "service.failed", name, state))
    return out


class ControlSurface:
    def __init__(self, supervisor):
        self.sup = supervisor
        self._service_states: dict[str, str] = {}

    # ---- views ------------------------------------------------------------
    def health(self) -> HealthView:
        s = self.sup
        h = s.health()
        return HealthView(health_status(h["services"], h["engines"]), h["services"], h["engines"],
                          h["failures"], round(time.time() - s.started_at, 1))

    def fleet(self) -> FleetView:
        return FleetView(tuple(EngineView.of(p) for p in self.sup.pods.values()))

    def engine(self, name: str) -> EngineView:
        return EngineView.of(self.sup.pod(name))

    def engine_status(self, name: str) -> dict:
        """The engine's whole last /status (the supervisor polls it every second)."""
        pod = self.sup.pod(name)
        return {"name": pod.name, "state": pod.state, "status": pod.status}

    def function(self) -> dict:
        return self.sup.services.metrics.snapshot()

    async def store(self) -> StoreView:
        from .store_view import store_view
        return StoreView(**await store_view(self.sup.services.store))

    async def discovery(self) -> DiscoveryView:
        api = self.sup.services.discovery_api
        if not api:
            return DiscoveryView(False, ())
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as http:
            async with http.get(f"{api}/v1/members") as resp:
                data = await resp.json()
        members = tuple(data.get("members") or ()) if isinstance(data, dict) else ()
        return DiscoveryView(True, members, resp.status, data if isinstance(data, dict) else {})

    async def store_objects(self, tenant: str, engine: str, instance: str) -> dict:
        """The snapshot objects (and claim) under one tenant / engine / instance."""
        from .store_view import instance_objects
        from .supervisor import ActionError
        parts = [tenant, engine, instance]
        if not all(p and "/" not in p for p in parts):
            raise ActionError("tenant, engine and instance are required (names without /)")
        return await instance_objects(self.sup.services.store, *parts)

    # ---- faults -------------------------------------------------------------
    async def faults(self) -> dict:
        s, remote = self.sup, self.sup.remote_faults
        return {"function": [f.to_json() for f in s.services.faults.list()],
                "engines": dict(remote.engine_skews),
                "discovery_partitioned": sorted(remote.engine_partitions),
                "discovery": await remote.list_discovery()}

    async def set_fault(self, spec) -> dict:
        """Route one fault to where it applies; FaultSpecError names what is wrong."""
        from .faults import function_fault, parse_target
        from emulator.function.faults import FaultSpecError
        s = self.sup
        target = parse_target(spec)
        if not all(isinstance(spec.get(k, ""), str) for k in ("kind", "engine")):
            raise FaultSpecError("kind and engine, when given, are strings")
        if target in ("function", "store"):
            result = {"target": target, **s.services.faults.add(function_fault(spec)).to_json()}
        elif target == "engine":
            result = await s.remote_faults.set_engine(spec)
        else:
            result = await s.remote_faults.set_discovery(spec)
        s.events.emit("fault.set", target, **result)
        return result

    async def clear_faults(self) -> dict:
        s = self.sup
        cleared = {"function": s.services.faults.clear(),
                   "engines": await s.remote_faults.clear_engines(),
                   "discovery": await s.remote_faults.clear_discovery()}
        s.events.emit("fault.cleared", "all", **cleared)
        return cleared

    # ---- store ----------------------------------------------------------------
    async def reset_store(self) -> int:
        """Empty the store, the function's warm chains and the witnesses (they describe
        writes to the store just emptied)."""
        s = self.sup
        removed = await s.services.store.delete_prefix("")
        s.services.function.forget_warm_state()
        s.forget_witnesses()
        s.events.emit("store.reset", "store", removed=removed)
        return removed

    # ---- an engine's own admin surface ------------------------------------------
    async def _engine(self, pod, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        from .engine_admin import EngineUnreachable, engine_call
        from .supervisor import ActionError
        try:
            return await engine_call(pod, method, path, body)
        except EngineUnreachable as exc:
            raise ActionError(str(exc), 409) from None

    async def ledger(self, name: str, tail: int) -> dict:
        from .engine_admin import EngineUnreachable, ledger_tail
        from .supervisor import ActionError
        try:
            return await ledger_tail(self.sup.pod(name), tail)
        except EngineUnreachable as exc:
            raise ActionError(str(exc), 409) from None

    async def workload(self, name: str) -> tuple[int, dict]:
        pod = self.sup.pod(name)
        status, data = await self._engine(pod, "GET", "/admin/workload")
        return status, {"name": pod.name, **data}

    async def set_workload(self, name: str, body) -> dict:
        """Switch one engine's write generator now (engine.workload)."""
        from .supervisor import ActionError
        pod = self.sup.pod(name)
        status, data = await self._engine(pod, "POST", "/admin/workload", body)
        if status != 200:
            raise ActionError(f"{pod.name}: {data.get('error', data)}", status)
        self.sup.events.emit("engine.workload", pod.name, **data)
        return {"name": pod.name, **data}

    async def set_kind_workload(self, kind: str, body) -> dict:
        """Switch every running engine of `kind`, and remember it for the kind's later pods."""
        from engines_fake.workload import WorkloadRejected, parse_switch
        from .engine_admin import kind_workload_config
        from .supervisor import ActionError
        s = self.sup
        require_kind(kind)
        try:  # checked here too: a kind scaled to zero has no engine to check it
            rate, value_bytes = parse_switch(body)
        except WorkloadRejected as exc:
            raise ActionError(str(exc)) from None
        answers = []
        for pod in [p for p in s.pods.values() if p.slot.kind == kind and p.state == "running"]:
            answers.append(await self.set_workload(pod.name, body))
        s.config = kind_workload_config(s.config, kind, rate, value_bytes)
        return {"kind": kind, "rate": rate, "value_bytes": value_bytes, "engines": answers}

    # ---- what the poll alone does not see ---------------------------------------
    def service_changes(self) -> list[tuple[str, str, str]]:
        """[(event kind, service, state)] since the last call (service_transitions)."""
        now = self.sup.service_states()
        out = service_transitions(self._service_states, now, stopping=self.sup._stopping)
        self._service_states = now
        return out

    async def watch(self, interval_s: float = 1.0) -> None:
        while not self.sup.stopped.is_set():
            for kind, name, state in self.service_changes():
                self.sup.events.emit(kind, name, state=state)
            await asyncio.sleep(interval_s)
