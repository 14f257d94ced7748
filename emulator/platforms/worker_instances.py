"""Function instances as processes, for the Cloud Functions and Azure Functions
stand-ins (seed 002): each instance is a worker process of its own
(functions-framework; our Azure host), started on a cold start and stopped
when reaped, chosen per request by the pure pool
(emulator/protocol/function_instances.py) as the aiohttp function and the
Lambda host choose theirs.

What an instance keeps between its own invocations is what a process keeps:
its memory (the function's warm state) and its /tmp (TMPDIR, a directory of
its own under `root`, deleted when it is reaped). Nothing else is shared but
the store.

The front (front.py) holds an instance for each request through `serve`,
which yields the instance's endpoint. A cold start is the worker process
starting (no extra delay is added: starting a Python process and importing
the function is the cost a platform's cold start has too). While it starts,
other requests the pool packs onto the same instance wait for it, as they
would on a platform.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from emulator.protocol.function_instances import NEW_INSTANCE, Grant, InstancePool

from .standin_process import Child, StandInFailed

log = logging.getLogger("wkp.standin_instances")

# (instance id, its /tmp) -> (the process, its endpoint); blocking, run in a thread
StartWorker = Callable[[str, Path], "tuple[Child, str]"]


class InstancesBusy(Exception):
    """Every instance is busy at the limit: the front answers 429 with Retry-After."""

    def __init__(self, limit: int, retry_after_s: float):
        super().__init__(f"all {limit} function instances are busy")
        self.retry_after_s = retry_after_s


class InstanceStartFailed(Exception):
    """A cold start failed (the worker process exited or was not ready): the front answers 502."""

    def __init__(self, instance_id: str, why: str):
        super().__init__(why)
        self.instance_id = instance_id


@dataclass(eq=False)
class _Worker:
    id: str
    tmp: Path
    ready: asyncio.Future  # -> (Child, endpoint): the process started and listening


@dataclass(frozen=True)
class WorkerSettings:
    instances_max: int = 4
    instance_concurrency: int = 100
    keep_alive_s: float | None = None   # None: never reaped for being idle
    retry_after_s: float = 1.0

    def __post_init__(self):
        if self.instances_max < 1 or self.instance_concurrency < 1:
            raise ValueError("instances_max and instance_concurrency must be at least 1")
        if self.keep_alive_s is not None and self.keep_alive_s <= 0:
            raise ValueError(f"keep_alive_s must be positive, got {self.keep_alive_s}")


class WorkerInstances:
    def __init__(self, start_worker: StartWorker, root: Path, settings: WorkerSettings = WorkerSettings(),
                 clock=time.monotonic):
        self.start_worker, self.root, self.settings, self._clock = start_worker, Path(root), settings, clock
        self.pool = InstancePool(limit=settings.instances_max,
                                 per_instance_concurrency=settings.instance_concurrency,
                                 keep_alive_s=settings.keep_alive_s, cold_start_s=0.0,
                                 retry_after_s=settings.retry_after_s)
        self.workers: dict[str, _Worker] = {}
        self._stopping: set[asyncio.Task] = set()
        self._reaper: asyncio.Task | None = None
        self._released = asyncio.Event()

    # ---- life ----------------------------------------------------------------
    async def start(self) -> "WorkerInstances":
        self.root.mkdir(parents=True, exist_ok=True)
        for stale in self.root.glob("i-*"):  # a previous run's instances are long gone
            shutil.rmtree(stale, ignore_errors=True)
        self._reaper = asyncio.create_task(self._reap_forever(), name="standin-instance-reaper")
        return self

    async def stop(self) -> None:
        if self._reaper is not None:
            self._reaper.cancel()
            await asyncio.gather(self._reaper, return_exceptions=True)
        self._drop(list(self.workers))
        await asyncio.gather(*self._stopping, return_exceptions=True)

    # ---- serving -------------------------------------------------------------
    @contextlib.asynccontextmanager
    async def serve(self, steer: str | None = None):
        """Hold an instance for one request: yields (endpoint, instance id, cold). Raises
        InstancesBusy at the limit, InstanceStartFailed when a cold start fails."""
        fresh = steer == NEW_INSTANCE
        grant = self.pool.acquire(self._clock(), fresh=fresh, prefer=steer if steer and not fresh else None)
        if not isinstance(grant, Grant):
            raise InstancesBusy(self.pool.limit, grant.retry_after_s)
        self._drop(self.pool.reap(self._clock()))  # an idle instance evicted to make room for this one
        try:
            worker = self.workers.get(grant.instance_id)
            cold = worker is None  # a new instance, or one whose process failed to start
            if cold:
                worker = self._launch(grant.instance_id)
            try:
                # shielded: a request given up on must not cancel a start others wait for
                _, endpoint = await asyncio.shield(worker.ready)
            except StandInFailed as exc:
                if self.workers.get(grant.instance_id) is worker:
                    del self.workers[grant.instance_id]  # the next request there starts it again
                raise InstanceStartFailed(grant.instance_id, str(exc).splitlines()[0]) from None
            yield endpoint, grant.instance_id, cold
        finally:
            self.pool.release(grant.instance_id, self._clock())
            self._released.set()

    def reap_idle(self) -> list[str]:
        """Reap every idle instance now (POST /_wkp/instances/reap; `wkp-emu reset`): their
        processes are stopped, their directories deleted."""
        gone = self.pool.reap_idle(self._clock())
        self._drop(gone)
        return gone

    async def reap_idle_and_wait(self) -> list[str]:
        """reap_idle, returning once their processes have stopped."""
        before = set(self._stopping)
        gone = self.reap_idle()
        await asyncio.gather(*(self._stopping - before), return_exceptions=True)
        return gone

    def pids(self) -> dict[str, int | None]:
        out = {}
        for instance_id, worker in self.workers.items():
            done = worker.ready.done() and not worker.ready.cancelled() and worker.ready.exception() is None
            out[instance_id] = worker.ready.result()[0].popen.pid if done else None
        return out

    # ---- internals -----------------------------------------------------------
    def _launch(self, instance_id: str) -> _Worker:
        tmp = self.root / instance_id
        tmp.mkdir(parents=True, exist_ok=True)
        ready = asyncio.ensure_future(asyncio.to_thread(self.start_worker, instance_id, tmp))
        worker = self.workers[instance_id] = _Worker(instance_id, tmp, ready)
        log.info("function instance %s starting", instance_id)
        return worker

    def _drop(self, ids: list[str]) -> None:
        for instance_id in ids:
            worker = self.workers.pop(instance_id, None)
            if worker is not None:
                task = asyncio.create_task(self._stop_worker(worker))
                self._stopping.add(task)
                task.add_done_callback(self._stopping.discard)

    async def _stop_worker(self, worker: _Worker) -> None:
        try:
            child, _ = await worker.ready  # a start under way is finished, then stopped
        except BaseException:  # it never started: nothing runs
            child = None
        if child is not None:
            await asyncio.to_thread(child.stop)
        shutil.rmtree(worker.tmp, ignore_errors=True)
        log.info("function instance %s reaped", worker.id)

    async def _reap_forever(self) -> None:
        while True:
            deadline = self.pool.next_deadline()
            timeout = None if deadline is None else max(0.0, deadline - self._clock())
            with contextlib.suppress(TimeoutError, asyncio.TimeoutError):
                await asyncio.wait_for(self._released.wait(), timeout)
            self._released.clear()
            self._drop(self.pool.reap(self._clock()))

    # ---- views ---------------------------------------------------------------
    def view(self) -> dict:
        """The aiohttp function's `GET /_wkp/instances` shape, each instance with its pid."""
        c, now, pids = self.pool.counters, self._clock(), self.pids()
        return {"live": c.live, "busy": c.busy, "inflight": c.inflight,
                "cold_starts": c.cold_starts, "warm_hits": c.warm_hits,
                "throttles": c.throttles, "reaped": c.reaped,
                "settings": {"instances_max": self.pool.limit,
                             "instance_concurrency": self.pool.per_instance_concurrency,
                             "keep_alive_s": self.pool.keep_alive_s, "cold_start_ms": 0},
                "instances": [{"id": v.instance_id, "inflight": v.inflight, "invocations": v.invocations,
                               "idle_s": None if v.idle_since is None else round(now - v.idle_since, 3),
                               "pid": pids.get(v.instance_id)}
                              for v in self.pool.instances()]}
