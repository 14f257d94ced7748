"""The local Lambda: a Function URL on loopback in front of runtime processes.

For each HTTP request the host does what Lambda does, in its order:
1. reads the body and builds the payload 2.0 event; an event over the
   request limit (6 MB: the body counts base64-encoded) is refused with 413
   before any instance is involved;
2. asks the pure instance pool (emulator/protocol/function_instances.py) for
   an instance: a warm one, a cold start (a new runtime process, serving
   once it polls its Runtime API), or 429 at the concurrency limit;
3. queues the invocation on that instance's Runtime API and waits for its
   answer until the function's timeout: a buffered result (refused by the
   Runtime API over 6 MB: the URL answers 502), a stream (relayed as it
   comes, prelude first), or an error (502);
4. a timed-out instance is stopped (Lambda resets the environment); idle
   instances are reaped after the keep-alive.

The emulator's steering (docs/functions.md, "Steering") works here too: a
request's `X-Wkp-Emu-Instance: new | i-N` chooses the instance, every answer
names it (and `X-Wkp-Emu-Cold: 1` on a cold start), `GET /_wkp/instances`
lists them and `POST /_wkp/instances/reap` reaps the idle ones.
"""
from __future__ import annotations

import asyncio
import itertools
import json
import logging
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

from emulator.protocol.function_instances import (COLD_HEADER, INSTANCE_HEADER, NEW_INSTANCE, Grant,
                                                  InstancePool, Throttled)

from .. import request_faults
from . import function_url as url
from .runtime_api import END, Buffered, Failed, Invocation, RuntimeEndpoint, Streamed
from .runtimes import HANDLER, RUNTIMES, RuntimeProcess, start_runtime

log = logging.getLogger("wkp.lambda_host")

MiB = 1024 * 1024
REQUEST_LIMIT = 6 * MiB                # the Invoke API: "must be smaller than 6291456 bytes"
BUFFERED_RESPONSE_LIMIT = 6 * MiB + 100  # the Runtime API: "maximum allowed payload size (6291556 bytes)"
STREAMED_RESPONSE_LIMIT = 200 * MiB
ACCOUNT = "000000000000"


class HostSettingsError(ValueError):
    """A setting of the host that cannot work; the message names it."""


@dataclass(frozen=True)
class LambdaHostSettings:
    env: dict                                    # the function's own variables (WKP_BUCKET, ...)
    runtime: str = "bootstrap"                   # a key of runtimes.RUNTIMES
    handler: str = HANDLER
    function_name: str = "wkp-function"
    region: str = "us-east-1"
    memory_mb: int = 1024
    timeout_s: float = 900.0
    init_timeout_s: float = 10.0                 # Lambda's init phase limit
    max_request_bytes: int = REQUEST_LIMIT
    max_buffered_response_bytes: int = BUFFERED_RESPONSE_LIMIT
    max_streamed_response_bytes: int | None = STREAMED_RESPONSE_LIMIT
    stream_unthrottled_bytes: int | None = None  # the profile's rate cap: None streams at full speed
    stream_rate_bytes_s: float | None = None
    instances_max: int = 10
    keep_alive_s: float | None = 600.0
    retry_after_s: float = 1.0
    work_dir: Path | None = None                 # instances' /tmp and logs (default: a temporary dir)
    task_root: Path | None = None                # the function's code (default: this repository)

    def __post_init__(self):
        if self.runtime not in RUNTIMES:
            raise HostSettingsError(f"runtime {self.runtime!r}: expected one of {', '.join(RUNTIMES)}")
        for name in ("timeout_s", "init_timeout_s", "memory_mb", "instances_max", "max_request_bytes",
                     "max_buffered_response_bytes"):
            if getattr(self, name) <= 0:
                raise HostSettingsError(f"{name} must be positive, got {getattr(self, name)}")


@dataclass
class _Instance:
    id: str
    endpoint: RuntimeEndpoint
    runner: web.AppRunner
    address: str
    process: RuntimeProcess | None = None
    ready: asyncio.Task | None = None   # the start: process up and polling
    invocations: int = 0


@dataclass
class HostCounters:
    invocations: int = 0
    cold_starts: int = 0
    warm_hits: int = 0
    throttles: int = 0
    timeouts: int = 0
    errors: int = 0
    too_large: int = 0
    cold_start_s: list = field(default_factory=list)  # process start to first poll, each cold start




class LambdaHost:
    """`faults` (emulator.function.faults.FaultTable) and `metrics`
    (emulator.function.metrics.Metrics), when given, are applied and kept at the
    Function URL, in front of the function: `wkp-emu up --function lambda`
    injects request faults and reads request counters there."""

    def __init__(self, settings: LambdaHostSettings, *, host: str = "127.0.0.1", faults=None,
                 metrics=None):
        self.settings, self.host = settings, host
        self.faults, self.metrics = faults, metrics
        self.pool = InstancePool(limit=settings.instances_max, per_instance_concurrency=1,
                                 keep_alive_s=settings.keep_alive_s, cold_start_s=0.0,
                                 retry_after_s=settings.retry_after_s)
        self.instances: dict[str, _Instance] = {}
        self.counters = HostCounters()
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self._reaper: asyncio.Task | None = None
        self._draining: set[asyncio.Task] = set()  # streams whose client went away, run to their end
        self._tmp: tempfile.TemporaryDirectory | None = None
        self.endpoint = ""

    # ---- lifecycle

    async def start(self, port: int = 0) -> "LambdaHost":
        if self.settings.work_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="wkp-lambda-")
            self.work_dir = Path(self._tmp.name)
        else:
            self.work_dir = Path(self.settings.work_dir)
            self.work_dir.mkdir(parents=True, exist_ok=True)
        app = web.Application(client_max_size=self.settings.max_request_bytes + 1)
        app.router.add_get("/_wkp/instances", self._list_instances)
        app.router.add_post("/_wkp/instances/reap", self._reap_now)
        app.router.add_route("*", "/{tail:.*}", self._invoke)
        self._runner = web.AppRunner(app, auto_decompress=False, access_log=None, shutdown_timeout=2.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, port, reuse_address=True)
        await site.start()
        bound = site._server.sockets[0].getsockname()
        self.endpoint = f"http://{bound[0]}:{bound[1]}"
        self._reaper = asyncio.create_task(self._reap_loop())
        return self

    async def stop(self) -> None:
        if self._reaper:
            self._reaper.cancel()
            await asyncio.gather(self._reaper, return_exceptions=True)
        if self._runner:
            await self._runner.cleanup()
        await asyncio.gather(*(self._drop(i) for i in list(self.instances)), return_exceptions=True)
        if self._tmp:
            self._tmp.cleanup()

    async def __aenter__(self):
        return await self.start()

    async def __aexit__(self, *exc):
        await self.stop()

    # ---- instances

    async def _new_instance(self, instance_id: str) -> _Instance:
        s = self.settings
        endpoint = RuntimeEndpoint(s.max_buffered_response_bytes, s.max_streamed_response_bytes)
        runner = web.AppRunner(endpoint.app(), access_log=None, shutdown_timeout=0.5)
        await runner.setup()
        site = web.TCPSite(runner, self.host, 0)
        await site.start()
        bound = site._server.sockets[0].getsockname()
        inst = _Instance(instance_id, endpoint, runner, f"{bound[0]}:{bound[1]}")
        self.instances[instance_id] = inst
        inst.ready = asyncio.create_task(self._boot(inst))
        return inst

    async def _boot(self, inst: _Instance) -> None:
        """Start the runtime process; ready when it first polls for work."""
        s = self.settings
        started = time.perf_counter()
        inst.process = await start_runtime(
            s.runtime, instance_id=inst.id, api_address=inst.address, function_name=s.function_name,
            handler=s.handler, env=dict(s.env), timeout_s=s.timeout_s, memory_mb=s.memory_mb,
            region=s.region, work_dir=self.work_dir,
            **({"task_root": Path(s.task_root)} if s.task_root else {}))
        polled = asyncio.create_task(inst.endpoint.polled.wait())
        exited = asyncio.create_task(inst.process.process.wait())
        try:
            done, _ = await asyncio.wait({polled, exited}, timeout=s.init_timeout_s,
                                         return_when=asyncio.FIRST_COMPLETED)
        finally:
            polled.cancel()
            exited.cancel()
        if polled not in done:
            why = inst.endpoint.init_error.message if inst.endpoint.init_error else (
                f"exited with {inst.process.process.returncode}" if exited in done
                else f"did not poll within {s.init_timeout_s} s")
            raise InitFailed(f"instance {inst.id}: the runtime failed to start: {why}\n"
                             f"{inst.process.log_tail()}")
        self.counters.cold_start_s.append(time.perf_counter() - started)

    async def _drop(self, instance_id: str) -> None:
        inst = self.instances.pop(instance_id, None)
        if inst is None:
            return
        if inst.ready and not inst.ready.done():
            inst.ready.cancel()
            await asyncio.gather(inst.ready, return_exceptions=True)
        if inst.process:
            await inst.process.stop()
        await inst.runner.cleanup()

    async def _collect_reaped(self) -> list[str]:
        gone = self.pool.reap(time.monotonic())
        for instance_id in gone:
            await self._drop(instance_id)
        return gone

    async def _reap_loop(self) -> None:
        while True:
            deadline = self.pool.next_deadline()
            wait = 1.0 if deadline is None else min(1.0, max(0.01, deadline - time.monotonic()))
            await asyncio.sleep(wait)
            try:
                await self._collect_reaped()
            except Exception:
                log.exception("reaping instances failed")

    def view(self) -> dict:
        """The instances as the function's metrics show them (the aiohttp function's shape)."""
        c, now = self.pool.counters, time.monotonic()
        return {"live": c.live, "busy": c.busy, "inflight": c.inflight, "cold_starts": c.cold_starts,
                "warm_hits": c.warm_hits, "throttles": c.throttles, "reaped": c.reaped,
                "settings": {"instances_max": self.pool.limit, "instance_concurrency": 1,
                             "keep_alive_s": self.pool.keep_alive_s, "runtime": self.settings.runtime},
                "instances": [{"id": v.instance_id, "inflight": v.inflight, "invocations": v.invocations,
                               "idle_s": None if v.idle_since is None else round(now - v.idle_since, 3)}
                              for v in self.pool.instances()]}

    def reap_idle(self) -> list[str]:
        """Reap every idle instance now (their memory and /tmp go with them)."""
        gone = self.pool.reap_idle(time.monotonic())
        for instance_id in gone:
            self._forget(instance_id)
        return gone

    async def _list_instances(self, request: web.Request) -> web.Response:
        views = [{"id": v.instance_id, "inflight": v.inflight, "invocations": v.invocations,
                  "pid": self.instances[v.instance_id].process.pid
                  if v.instance_id in self.instances and self.instances[v.instance_id].process else None}
                 for v in self.pool.instances()]
        c = self.pool.counters
        return web.json_response({"instances": views, "cold_starts": c.cold_starts,
                                  "warm_hits": c.warm_hits, "throttles": c.throttles,
                                  "reaped": c.reaped, "live": c.live})

    async def _reap_now(self, request: web.Request) -> web.Response:
        gone = self.pool.reap_idle(time.monotonic())
        for instance_id in gone:
            await self._drop(instance_id)
        return web.json_response({"reaped": gone})

    # ---- the Function URL

    async def _invoke(self, request: web.Request) -> web.StreamResponse:
        return await request_faults.serve(request, self._call, metrics=self.metrics, faults=self.faults)

    async def _call(self, request: web.Request) -> web.StreamResponse:
        s = self.settings
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:  # the body alone is over the limit: so is the event
            return self._too_large()
        request_id = str(uuid.uuid4())
        # as sent: the signature covers the raw query, and Lambda's rawPath is the raw path
        event = url.event_for(method=request.method, path=request.rel_url.raw_path,
                              query=request.rel_url.raw_query_string,
                              headers=[(k, v) for k, v in request.headers.items()
                                       if k.lower() != INSTANCE_HEADER.lower()],
                              body=body, request_id=request_id, url_id="wkpemulocal",
                              account=ACCOUNT, source_ip=request.remote or "127.0.0.1")
        payload = json.dumps(event).encode()
        if len(payload) > s.max_request_bytes:
            return self._too_large()
        steer = request.headers.get(INSTANCE_HEADER)
        now = time.monotonic()
        grant = self.pool.acquire(now, fresh=steer == NEW_INSTANCE,
                                  prefer=steer if steer and steer != NEW_INSTANCE else None)
        await self._collect_reaped()  # a fresh request may have evicted an idle instance
        if isinstance(grant, Throttled):
            self.counters.throttles += 1
            return web.json_response({"Message": "Rate Exceeded."}, status=429,
                                     headers={"Retry-After": str(max(1, round(grant.retry_after_s)))})
        self.counters.invocations += 1
        try:
            return await self._serve(request, grant, request_id, payload)
        finally:
            self.pool.release(grant.instance_id, time.monotonic())

    def _too_large(self) -> web.Response:
        self.counters.too_large += 1
        limit = self.settings.max_request_bytes
        return web.json_response({"Message": url.REQUEST_TOO_LARGE.format(limit=limit)}, status=413)

    async def _serve(self, request: web.Request, grant: Grant, request_id: str,
                     payload: bytes) -> web.StreamResponse:
        s = self.settings
        started = time.monotonic()
        inst = self.instances.get(grant.instance_id)
        cold = inst is None  # a new instance, or one whose runtime was reset after a timeout
        named = {INSTANCE_HEADER: grant.instance_id, **({COLD_HEADER: "1"} if cold else {})}
        if cold:
            self.counters.cold_starts += 1
            inst = await self._new_instance(grant.instance_id)
        else:
            self.counters.warm_hits += 1
        try:
            await inst.ready
        except InitFailed as exc:
            log.warning("%s", exc)
            self.counters.errors += 1
            self._forget(grant.instance_id)
            return _url_error(named)
        inst.invocations += 1
        deadline = started + s.timeout_s
        inv = Invocation(request_id, payload, int((time.time() + s.timeout_s) * 1000),
                         f"arn:aws:lambda:{s.region}:{ACCOUNT}:function:{s.function_name}",
                         f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]};Sampled=0")
        await inst.endpoint.queue.put(inv)
        exited = asyncio.ensure_future(inst.process.process.wait())
        try:
            done, _ = await asyncio.wait({inv.outcome, exited}, timeout=deadline - time.monotonic(),
                                         return_when=asyncio.FIRST_COMPLETED)
        finally:
            exited.cancel()
        if inv.outcome not in done:
            if exited not in done:
                return await self._timed_out(grant.instance_id, named)
            # the runtime died mid-invocation (a crash, an exit): Lambda answers the error at once
            log.info("invocation %s: the runtime exited with %s", request_id, inst.process.process.returncode)
            self.counters.errors += 1
            self._forget(grant.instance_id)
            return _url_error(named)
        outcome = inv.outcome.result()
        if isinstance(outcome, Failed):
            self.counters.errors += 1
            log.info("invocation %s failed: %s %s", request_id, outcome.error_type, outcome.message)
            return _url_error(named)
        if isinstance(outcome, Buffered):
            try:
                answer = url.read_buffered(outcome.payload)
            except url.BadResult as exc:
                log.info("invocation %s: %s", request_id, exc)
                self.counters.errors += 1
                return _url_error(named)
            response = web.Response(status=answer.status, body=answer.body)
            for name, value in answer.headers:
                response.headers.add(name, value)
            response.headers.update(named)
            return response
        return await self._relay(request, outcome, named, deadline, grant.instance_id)

    async def _relay(self, request, stream: Streamed, named: dict, deadline: float,
                     instance_id: str) -> web.StreamResponse:
        """A streamed answer: the prelude gives status and headers, the rest is the body."""
        chunks = stream.chunks
        head = bytearray()
        try:
            while url.PRELUDE_SEPARATOR not in head:
                item = await asyncio.wait_for(chunks.get(), deadline - time.monotonic())
                if item is END or isinstance(item, Exception) or len(head) > url.MAX_PRELUDE:
                    self.counters.errors += 1
                    return _url_error(named)
                head += item
            prelude, _, rest = bytes(head).partition(url.PRELUDE_SEPARATOR)
            status, headers = url.read_prelude(prelude)
        except asyncio.TimeoutError:
            return await self._timed_out(instance_id, named)
        except url.BadResult:
            self.counters.errors += 1
            return _url_error(named)
        response = web.StreamResponse(status=status)
        for name, value in headers:
            if name.lower() != "content-length":  # sent chunked, as Lambda streams
                response.headers.add(name, value)
        response.headers.update(named)
        pacer = _Pacer(self.settings.stream_unthrottled_bytes, self.settings.stream_rate_bytes_s)
        item = rest
        try:
            await response.prepare(request)
            while item is not END:
                if isinstance(item, Exception):  # the function failed mid-stream: cut the client off
                    log.info("stream of %s broke: %s", instance_id, item)
                    self.counters.errors += 1
                    request.transport.abort()
                    return response
                if item:
                    await pacer.wait(len(item))
                    await response.write(item)
                item = await asyncio.wait_for(chunks.get(), deadline - time.monotonic())
        except asyncio.TimeoutError:
            self.counters.timeouts += 1
            request.transport.abort()
            self._forget(instance_id)
            return response
            await response.write_eof()
        except ConnectionError:
            # The client went away (aiohttp: "Cannot write to closing transport"): normal, not an
            # error of the host. The runtime finishes its stream into the void, as on Lambda, and
            # the instance serves on; the response goes back to aiohttp, which ends it quietly.
            log.info("invocation on %s: the client closed the stream", instance_id)
            drain = asyncio.create_task(_drain(chunks, deadline))
            self._draining.add(drain)
            drain.add_done_callback(self._draining.discard)
        return response

    async def _timed_out(self, instance_id: str, named: dict) -> web.Response:
        """Lambda stops an invocation at its timeout and resets the environment."""
        self.counters.timeouts += 1
        self._forget(instance_id)
        return _url_error(named)

    def _forget(self, instance_id: str) -> None:
        """Stop the instance's runtime. After a timeout the pool keeps its id, and the
        next invocation there starts a new runtime process (as Lambda resets a
        timed-out environment: its memory gone, a new init)."""
        inst = self.instances.pop(instance_id, None)  # at once: no invocation may queue on it now
        if inst is not None:
            self.instances[f"stopping:{instance_id}:{id(inst)}"] = inst
            asyncio.create_task(self._drop(f"stopping:{instance_id}:{id(inst)}"))


class InitFailed(RuntimeError):
    pass


def _url_error(named: dict) -> web.Response:
    """What a Function URL answers when the function failed, timed out or answered too much."""
    return web.Response(status=502, text="Internal Server Error", content_type="text/plain",
                        headers=named)


async def _drain(chunks: asyncio.Queue, deadline: float) -> None:
    try:
        while True:
            item = await asyncio.wait_for(chunks.get(), max(0.0, deadline - time.monotonic()))
            if item is END or isinstance(item, Exception):
                return
    except asyncio.TimeoutError:
        return


class _Pacer:
    """The streamed rate cap after an unthrottled prefix (the lambda-url profile's)."""

    def __init__(self, free_bytes: int | None, rate: float | None):
        self.free, self.rate = free_bytes or 0, rate
        self.sent, self.started = 0, time.monotonic()

    async def wait(self, size: int) -> None:
        self.sent += size
        if not self.rate or self.sent <= self.free:
            return
        due = self.started + (self.sent - self.free) / self.rate
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
