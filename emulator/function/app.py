"""create_app(config): the WKP-1 function as an aiohttp application.

Routes: POST /persist, GET /restore, GET /health (the contract), and under
/_wkp/ the emulator's own unsigned admin surface (faults, metrics, reset),
meant for loopback use by tests, the supervisor and scenarios.
Run it with auto_decompress=False: bodies are opaque compressed bytes.
"""
from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time

from aiohttp import web

from emulator.protocol import function_rules as rules
from emulator.protocol.errors import ProtocolError, StoreUnavailable
from emulator.protocol.headers import HealthHeaders
from emulator.protocol.signing import EMPTY_BODY, SignedRequest, verify
from emulator.store.s3 import S3Store

from .config import FunctionConfig, platform_view
from .faults import Fault, FaultSpecError, FaultTable, WKP_PATHS
from .faulty_store import FaultyStore
from .instances import COLD_HEADER, INSTANCE_HEADER, InstanceHost, RoutedChains
from .keys import (ADMISSION, BACKGROUND, CHAINS, CONFIG, FAULTS, INFLIGHT, INSTANCES, METRICS, RELAYED,
                   SERVED_BY, STORE)
from .metrics import DROPPED, Metrics
from .platform import PREPARED, PlatformCut, within_timeout
from .persist import persist
from .restore import restore

log = logging.getLogger("wkp.function")


class Admission:
    """Counts WKP requests in flight, for the 429 rule."""

    def __init__(self):
        self.inflight = 0

    @contextlib.contextmanager
    def enter(self):
        before = self.inflight
        self.inflight += 1
        try:
            yield before
        finally:
            self.inflight -= 1


def _error_response(exc: ProtocolError) -> web.Response:
    return web.json_response(exc.to_json(), status=exc.status_hint, headers=exc.headers)


class ConnectionDropped(web.HTTPServiceUnavailable):
    """The outage fault closed the connection: the client saw no status at all.
    (An HTTPException so that aiohttp ends the request quietly; nothing is sent.)"""


@web.middleware
async def wkp_middleware(request: web.Request, handler):
    """Metrics, injected faults and the one place ProtocolErrors become statuses."""
    if request.path not in WKP_PATHS:
        return await handler(request)
    app, started = request.app, time.perf_counter()
    status, out = 500, 0
    try:
        with app[ADMISSION].enter() as inflight:
            request[INFLIGHT] = inflight  # counted from arrival, before any injected delay
            response = await _handle(request, handler)
        status, out = response.status, _bytes_out(response) + request.get(RELAYED, 0)
        return response
    except (ConnectionDropped, PlatformCut):
        status = DROPPED
        raise
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        app[METRICS].observe(request.path, status, time.perf_counter() - started,
                             request.content_length or 0, out)


def _bytes_out(response: web.StreamResponse) -> int:
    """Body bytes the client gets: a streamed response has written them already;
    a plain Response is sent after the middleware returns, so count its body."""
    if response.prepared:
        return response.body_length or 0
    body = getattr(response, "body", None)
    return len(body) if isinstance(body, (bytes, bytearray)) else 0


async def _handle(request, handler):
    hit = request.app[FAULTS].on_request(request.path, request.content_length)
    if hit.delay_s:
        await asyncio.sleep(hit.delay_s)
    if hit.drop:
        request.transport.abort()
        raise ConnectionDropped(reason=hit.reason)
    if hit.status is not None:
        return web.json_response({"error": "InjectedFault", "reason": hit.reason},
                                 status=hit.status, headers=hit.headers)
    app = request.app
    try:
        # The platform throttles at its concurrency limit, then picks an instance (or
        # throttles: every instance busy at the instance limit), before the function's code
        # runs. Checking max_inflight first means no instance starts for a request doomed to
        # 429, so unsteered traffic never needs a second instance by default.
        rules.check_concurrency(request[INFLIGHT], app[CONFIG].limits)
        async with app[INSTANCES].serve(request.headers.get(INSTANCE_HEADER)) as (instance, cold):
            request[SERVED_BY] = (instance.id, cold)
            return await within_timeout(request, handler, app[CONFIG].platform)
    except ProtocolError as exc:
        if exc.status_hint >= 500:
            log.warning("%s %s: %s", request.method, request.path, exc.reason)
        return _error_response(exc)


async def health(request: web.Request) -> web.Response:
    app = request.app
    cfg = app[CONFIG]
    rules.check_concurrency(request[INFLIGHT], cfg.limits)
    h = HealthHeaders.from_headers(request.headers)
    verify(cfg.secret, SignedRequest("GET", request.path, request.rel_url.raw_query_string,
                                     str(h.timestamp), h.request_id, EMPTY_BODY, h.signature),
           cfg.clock(), cfg.limits.max_skew_s)
    await app[STORE].ping()
    return web.json_response({"status": "ok", "store": "reachable"})


async def guarded_restore(request: web.Request):
    rules.check_concurrency(request[INFLIGHT], request.app[CONFIG].limits)
    return await restore(request)


async def get_faults(request):
    return web.json_response({"faults": [f.to_json() for f in request.app[FAULTS].list()]})


async def add_fault(request):
    try:
        fault = Fault.from_json(await request.json())
    except (FaultSpecError, ValueError) as exc:  # ValueError: not JSON, or not UTF-8
        return web.json_response({"error": "BadFault", "reason": str(exc)}, status=400)
    fault = request.app[FAULTS].add(fault)
    log.info("fault set: %s", fault.to_json())
    return web.json_response(fault.to_json(), status=201)


async def clear_faults(request):
    return web.json_response({"cleared": request.app[FAULTS].clear()})


async def delete_fault(request):
    digits = request.match_info["fault_id"]
    # \d+ also matches non-ASCII digits, and int() refuses over 4300 digits: neither is an id.
    found = digits.isascii() and len(digits) <= 18 and request.app[FAULTS].remove(int(digits))
    return web.json_response({"removed": found}, status=200 if found else 404)


async def get_metrics(request):
    metrics = request.app[METRICS]
    if "json" in request.query.get("format", "") or "application/json" in request.headers.get("Accept", ""):
        return web.json_response(metrics.snapshot())
    return web.Response(text=metrics.prometheus(), content_type="text/plain")


async def get_instances(request):
    return web.json_response(request.app[INSTANCES].view())


async def reap_instances(request):
    """Reap every idle instance now: "the platform recycled its instances" (tests, the kit)."""
    return web.json_response({"reaped": request.app[INSTANCES].reap_idle()})


async def _name_instance(request: web.Request, response: web.StreamResponse) -> None:
    """Every response says which instance served it (and whether it started cold)."""
    request[PREPARED] = True
    served = request.get(SERVED_BY)
    if served:
        response.headers[INSTANCE_HEADER] = served[0]
        if served[1]:
            response.headers[COLD_HEADER] = "1"


async def _instances_ctx(app: web.Application):
    await app[INSTANCES].start()
    yield
    await app[INSTANCES].stop()


async def reset_store(request):
    """Empty the bucket and the warm state (wkp-emu reset)."""
    removed = await request.app[STORE].delete_prefix("")
    request.app[CHAINS].forget_all()
    return web.json_response({"removed": removed})


async def _store_ctx(app: web.Application):
    cfg = app[CONFIG]
    store = S3Store(cfg.s3_endpoint, cfg.bucket)
    await store.open()
    if cfg.create_bucket:
        await store.ensure_bucket()
    app[STORE] = FaultyStore(store, app[FAULTS])
    yield
    tasks = list(app[BACKGROUND])
    if tasks:  # 202 uploads still running: let them finish, they were acknowledged
        await asyncio.wait(tasks, timeout=30)
    await store.close()


def create_app(config: FunctionConfig) -> web.Application:
    if config.platform.paces:  # a paced or capped response goes through Python, not the kernel
        config = dataclasses.replace(config, splice=False)
    app = web.Application(middlewares=[wkp_middleware], client_max_size=config.limits.max_payload + 1)
    app[CONFIG] = config
    host = InstanceHost(config.instances, config.limits.max_inflight, config.instances_dir)
    app[INSTANCES] = host
    app[CHAINS] = RoutedChains(host)  # the serving instance's warm chains
    app[FAULTS] = FaultTable(config.fault_seed)
    app[METRICS] = Metrics(instances=host.view, platform=platform_view(config))
    app[ADMISSION] = Admission()
    app[BACKGROUND] = set()
    app.cleanup_ctx.append(_instances_ctx)
    app.cleanup_ctx.append(_store_ctx)
    app.on_response_prepare.append(_name_instance)
    app.router.add_post("/persist", persist)
    app.router.add_get("/restore", guarded_restore)
    app.router.add_get("/health", health)
    app.router.add_get("/_wkp/faults", get_faults)
    app.router.add_post("/_wkp/faults", add_fault)
    app.router.add_delete("/_wkp/faults", clear_faults)
    app.router.add_delete("/_wkp/faults/{fault_id:\\d+}", delete_fault)
    app.router.add_get("/_wkp/metrics", get_metrics)
    app.router.add_post("/_wkp/reset", reset_store)
    app.router.add_get("/_wkp/instances", get_instances)
    app.router.add_post("/_wkp/instances/reap", reap_instances)
    return app
