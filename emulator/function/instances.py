"""The function host runs instances the way Lambda and OpenWhisk do (seed 002).

Each request is served by one instance, chosen by the pure pool
(emulator/protocol/function_instances.py): a warm one when one has room, else
a new one after a cold start, else 429 with Retry-After. An idle instance is
reaped after the keep-alive. What an instance keeps between *its own*
invocations, and nowhere else:

- its memory: the warm chain state (chains.Chains: the heads, the chain
  digests, the locks), the only thing the function keeps warm;
- its /tmp: a directory of its own under the host's root, removed when the
  instance is reaped.

The handlers reach the serving instance through `app[CHAINS]`, which routes
to the current request's instance (`RoutedChains`, a context variable set for
the request's task), so persist and restore read the warm state of exactly
the instance that serves them, as their code on a real platform would. Once
more than one instance has run, a warm head may be stale (another instance
pushed since), so persist confirms a warm acceptance against the store
(`RoutedChains.warm_head_trusted`).

Steering (the emulator's, for the conformance kit and tests; unsigned, so a
client can add it to any request): the request header `X-Wkp-Emu-Instance:
new` asks for a new instance (a cold start even if warm ones idle), and
`X-Wkp-Emu-Instance: i-3` for that instance if it is alive and has room. Every
response names its instance in the same header (and `X-Wkp-Emu-Cold: 1` on a
cold start), which is also how a client tells that a function can be steered.
"""
from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from emulator.protocol.errors import Throttled
from emulator.protocol.function_instances import COLD_HEADER, INSTANCE_HEADER, NEW_INSTANCE, Grant, InstancePool

from .chains import Chains
from .config import InstanceSettings

log = logging.getLogger("wkp.function")

__all__ = ["COLD_HEADER", "INSTANCE_HEADER", "FunctionInstance", "InstanceHost", "RoutedChains",
           "current_instance"]

_current: contextvars.ContextVar["FunctionInstance | None"] = contextvars.ContextVar(
    "wkp_function_instance", default=None)


@dataclass(eq=False)
class FunctionInstance:
    """One warm instance: what survives between its own invocations."""
    id: str
    tmp: Path
    chains: Chains = field(default_factory=Chains)


def current_instance() -> FunctionInstance:
    """The instance serving the request this task is handling."""
    inst = _current.get()
    if inst is None:
        raise RuntimeError("no function instance: called outside a request the host admitted")
    return inst


class RoutedChains:
    """app[CHAINS]: the warm chains of the instance serving the current request.

    Outside a request, `forget_all` (wkp-emu reset) forgets the warm state of
    every live instance, and the other methods reach the only live instance
    (the default host has one: inspecting "the function's warm state" from a
    test or the supervisor stays meaningful); with several, that is an error.
    """

    def __init__(self, host: "InstanceHost"):
        self._host = host

    def _chains(self) -> Chains:
        inst = _current.get()
        if inst is not None:
            return inst.chains
        if len(self._host.live) == 1:
            return next(iter(self._host.live.values())).chains
        raise RuntimeError(f"{len(self._host.live)} function instances are live: whose warm state? "
                           "(only a request's own instance is meant)")

    def state(self, tenant: str, engine: str, instance_id: str):
        return self._chains().state(tenant, engine, instance_id)

    def lock(self, state):
        return self._chains().lock(state)

    async def load(self, store, state, *, refresh: bool = False):
        return await self._chains().load(store, state, refresh=refresh)

    def warm_head_trusted(self) -> bool:
        """Whether a push the warm head accepts can be stored without listing first.

        Only while this function has only ever run one instance: then no other
        instance can have written since this one last looked (one process, one
        writer). Once a second instance has started, any warm head may be
        stale (another instance stored a push since), and accepting from it
        would fork the chain, so persist confirms against a fresh listing: the
        cost a function on an instance platform really pays.
        """
        return self._host.pool.cold_starts <= 1

    def forget_all(self) -> None:
        for inst in self._host.live.values():
            inst.chains.forget_all()


class InstanceHost:
    def __init__(self, settings: InstanceSettings, max_inflight: int, root: str | None = None,
                 clock=time.monotonic):
        concurrency = settings.instance_concurrency or max_inflight
        self.settings = settings
        self.pool = InstancePool(limit=settings.instances_max, per_instance_concurrency=concurrency,
                                 keep_alive_s=settings.keep_alive_s,
                                 cold_start_s=settings.cold_start_ms / 1000,
                                 retry_after_s=settings.retry_after_s)
        self.live: dict[str, FunctionInstance] = {}
        self._root_arg, self._owns_root = root, root is None
        self.root: Path | None = None
        self._clock = clock
        self._changed = asyncio.Event()
        self._reaper: asyncio.Task | None = None
        self._reaper_idle = False  # the reaper waits with no deadline: a release must wake it

    # ---- life ----------------------------------------------------------------
    async def start(self) -> None:
        if self._owns_root:
            self.root = Path(tempfile.mkdtemp(prefix="wkp-instances-"))
        else:
            self.root = Path(self._root_arg)
            self.root.mkdir(parents=True, exist_ok=True)
            for stale in self.root.glob("i-*"):  # a previous run's instances are long gone
                shutil.rmtree(stale, ignore_errors=True)
        if self.settings.keep_alive_s is not None:
            self._reaper = asyncio.create_task(self._reap_forever(), name="function-instance-reaper")

    async def stop(self) -> None:
        if self._reaper is not None:
            self._reaper.cancel()
            await asyncio.gather(self._reaper, return_exceptions=True)
        for inst in list(self.live.values()):
            shutil.rmtree(inst.tmp, ignore_errors=True)
        self.live.clear()
        if self._owns_root and self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)

    # ---- serving -------------------------------------------------------------
    @contextlib.asynccontextmanager
    async def serve(self, steer: str | None = None):
        """Hold an instance for one request: yields (instance, cold). Raises
        Throttled (429) when every instance is busy at the limit."""
        fresh = steer == NEW_INSTANCE
        prefer = steer if steer and not fresh else None
        grant = self.pool.acquire(self._clock(), fresh=fresh, prefer=prefer)
        if not isinstance(grant, Grant):
            raise Throttled(f"all {self.pool.limit} function instances are busy",
                            headers={"Retry-After": str(int(grant.retry_after_s))})
        self._drop(self.pool.reap(self._clock()))  # instances evicted to make room for this one
        inst = self.live.get(grant.instance_id)
        if inst is None:
            inst = self.live[grant.instance_id] = FunctionInstance(grant.instance_id, self.root / grant.instance_id)
            inst.tmp.mkdir()
        token = _current.set(inst)
        try:
            wait = grant.ready_at - self._clock()
            if wait > 0:  # the cold start: the platform is still starting this instance
                await asyncio.sleep(wait)
            yield inst, grant.cold
        finally:
            _current.reset(token)
            self.pool.release(inst.id, self._clock())
            # A release makes a deadline only later than any the reaper waits for
            # (keep-alive is fixed, time moves on): wake it only when it has none.
            if self._reaper_idle:
                self._reaper_idle = False
                self._changed.set()

    def reap_idle(self) -> list[str]:
        """Reap every idle instance now (POST /_wkp/instances/reap)."""
        gone = self.pool.reap_idle(self._clock())
        self._drop(gone)
        return gone

    def _drop(self, ids: list[str]) -> None:
        for instance_id in ids:
            inst = self.live.pop(instance_id, None)
            if inst is not None:
                shutil.rmtree(inst.tmp, ignore_errors=True)
                log.info("function instance %s reaped", instance_id)

    async def _reap_forever(self) -> None:
        while True:
            deadline = self.pool.next_deadline()
            timeout = None if deadline is None else max(0.0, deadline - self._clock())
            self._reaper_idle = deadline is None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), timeout)
            self._changed.clear()
            self._drop(self.pool.reap(self._clock()))

    # ---- views ---------------------------------------------------------------
    def view(self) -> dict:
        c = self.pool.counters
        now = self._clock()
        return {"live": c.live, "busy": c.busy, "inflight": c.inflight,
                "cold_starts": c.cold_starts, "warm_hits": c.warm_hits,
                "throttles": c.throttles, "reaped": c.reaped,
                "settings": {"instances_max": self.pool.limit,
                             "instance_concurrency": self.pool.per_instance_concurrency,
                             "keep_alive_s": self.pool.keep_alive_s,
                             "cold_start_ms": self.settings.cold_start_ms},
                "instances": [{"id": v.instance_id, "inflight": v.inflight, "invocations": v.invocations,
                               "idle_s": None if v.idle_since is None else round(now - v.idle_since, 3)}
                              for v in self.pool.instances()]}
