"""create_app(supervisor): the control API on loopback (REST + an SSE event stream).

Handlers parse and translate only; ActionError and FaultSpecError map to their
statuses in one middleware.
"""
from __future__ import annotations

import asyncio
import json
import time

import aiohttp
from aiohttp import web

from emulator.function.faults import FaultSpecError
from emulator.supervisor.pods import failures
from emulator.supervisor.policy import health_status
from emulator.supervisor.supervisor import ActionError

from .faults import function_fault, parse_target
from .metrics import prometheus
from .store_view import store_view

SUPERVISOR = web.AppKey("supervisor", object)


@web.middleware
async def errors(request, handler):
    try:
        return await handler(request)
    except ActionError as exc:
        return web.json_response({"error": str(exc)}, status=exc.status)
    except FaultSpecError as exc:
        return web.json_response({"error": str(exc)}, status=400)
    except json.JSONDecodeError as exc:
        return web.json_response({"error": f"body is not JSON: {exc}"}, status=400)
    except UnicodeDecodeError as exc:
        return web.json_response({"error": f"body is not UTF-8 JSON: {exc}"}, status=400)


async def json_object(request, *, optional: bool = False) -> dict:
    """The request's JSON body, which must be an object ({} when optional and absent)."""
    if optional and not request.can_read_body:
        return {}
    try:
        body = await request.json()
    except ValueError as exc:  # not JSON, not UTF-8, or an integer of thousands of digits
        raise ActionError(f"body is not JSON: {exc}") from None
    if not isinstance(body, dict):
        raise ActionError(f"the body must be a JSON object, got {type(body).__name__}")
    return body


def sup(request):
    return request.app[SUPERVISOR]


async def health(request):
    """running | degraded (policy.health_status), with each failed engine's own message."""
    s = sup(request)
    services = s.service_states()
    engines = {p.name: p.state for p in s.pods.values()}
    return web.json_response({"status": health_status(services, engines), "services": services,
                              "engines": engines, "failures": failures(s.pods.values()),
                              "uptime_s": round(time.time() - s.started_at, 1)})


async def info(request):
    return web.json_response(sup(request).describe())


async def fleet(request):
    return web.json_response({"engines": [p.to_json() for p in sup(request).pods.values()]})


async def engine(request):
    return web.json_response(sup(request).pod(request.match_info["name"]).to_json())


async def function_metrics(request):
    return web.json_response(sup(request).services.metrics.snapshot())


async def store(request):
    return web.json_response(await store_view(sup(request).services.store))


async def discovery(request):
    s = sup(request)
    api = s.services.discovery_api
    if not api:
        return web.json_response({"enabled": False, "members": []})
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as http:
        async with http.get(f"{api}/v1/members") as resp:
            return web.json_response(await resp.json(), status=resp.status)


async def scale(request):
    body = await json_object(request)
    return web.json_response(await sup(request).scale(request.match_info["kind"], body.get("replicas")))


async def recycle_engine(request):
    return web.json_response(await sup(request).recycle(request.match_info["name"]))


async def recycle_kind(request):
    body = await json_object(request, optional=True)
    pods = await sup(request).recycle_kind(request.match_info["kind"], bool(body.get("rolling")))
    return web.json_response({"engines": pods})


async def kill(request):
    return web.json_response(await sup(request).kill(request.match_info["name"]))


async def restart(request):
    return web.json_response(await sup(request).restart(request.match_info["name"]))


async def list_faults(request):
    s = sup(request)
    remote = s.remote_faults
    return web.json_response({"function": [f.to_json() for f in s.services.faults.list()],
                              "engines": dict(remote.engine_skews),
                              "discovery_partitioned": sorted(remote.engine_partitions),
                              "discovery": await remote.list_discovery()})


async def set_fault(request):
    s = sup(request)
    spec = await json_object(request)
    target = parse_target(spec)
    if not all(isinstance(spec.get(k, ""), str) for k in ("kind", "engine")):
        raise FaultSpecError("kind and engine, when given, are strings")
    if target in ("function", "store"):
        fault = s.services.faults.add(function_fault(spec))
        result = {"target": target, **fault.to_json()}
    elif target == "engine":
        result = await s.remote_faults.set_engine(spec)
    else:
        result = await s.remote_faults.set_discovery(spec)
    s.events.emit("fault.set", target, **result)
    return web.json_response(result, status=201)


async def clear_faults(request):
    s = sup(request)
    cleared = {"function": s.services.faults.clear(),
               "engines": await s.remote_faults.clear_engines(),
               "discovery": await s.remote_faults.clear_discovery()}
    s.events.emit("fault.cleared", "all", **cleared)
    return web.json_response(cleared)


async def reset(request):
    s = sup(request)
    removed = await s.services.store.delete_prefix("")
    from emulator.function.keys import CHAINS
    s.services.function.runner.app[CHAINS].forget_all()
    s.forget_witnesses()  # they describe writes to the store just emptied
    s.events.emit("store.reset", "store", removed=removed)
    return web.json_response({"removed": removed})


async def down(request):
    s = sup(request)
    asyncio.get_running_loop().call_soon(lambda: asyncio.ensure_future(s.stop()))
    return web.json_response({"stopping": True}, status=202)


async def events(request):
    """Server-sent events: the history since ?since=SEQ, then live ones."""
    s = sup(request)
    since = request.query.get("since", "0") or "0"
    if not (since.isascii() and since.isdigit() and len(since) <= 18):
        raise ActionError(f"since must be an event sequence number, got {since!r}")
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream",
                                           "Cache-Control": "no-cache"})
    await response.prepare(request)
    queue = s.events.subscribe()
    try:
        for event in s.events.history(int(since)):
            await response.write(f"id: {event.seq}\nevent: {event.kind}\ndata: {event.to_json()}\n\n".encode())
        while not s.stopped.is_set() and "once" not in request.query:
            try:
                event = await asyncio.wait_for(queue.get(), 15)
            except asyncio.TimeoutError:
                await response.write(b": keep-alive\n\n")
                continue
            await response.write(f"id: {event.seq}\nevent: {event.kind}\ndata: {event.to_json()}\n\n".encode())
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    finally:
        s.events.unsubscribe(queue)
    return response


async def logs(request):
    """A log file; with ?follow=1, keep streaming what is appended (like tail -f)."""
    s = sup(request)
    name = request.match_info["name"]
    path = s.state_dir / "logs" / f"{name}.log" if name == "discovery" else s.pod(name).log_path
    response = web.StreamResponse(headers={"Content-Type": "text/plain; charset=utf-8"})
    await response.prepare(request)
    follow = request.query.get("follow") in ("1", "true")
    with path.open("rb") as f:
        while True:
            chunk = f.read(65536)
            if chunk:
                await response.write(chunk)
                continue
            if not follow or s.stopped.is_set():
                break
            await asyncio.sleep(0.25)
    return response


async def metrics(request):
    return web.Response(text=prometheus(sup(request)), content_type="text/plain")


def create_app(supervisor) -> web.Application:
    app = web.Application(middlewares=[errors])
    app[SUPERVISOR] = supervisor
    r = app.router
    r.add_get("/health", health)
    r.add_get("/metrics", metrics)
    r.add_get("/v1/info", info)
    r.add_get("/v1/fleet", fleet)
    r.add_get("/v1/engines/{name}", engine)
    r.add_post("/v1/engines/{name}/recycle", recycle_engine)
    r.add_post("/v1/engines/{name}/kill", kill)
    r.add_post("/v1/engines/{name}/restart", restart)
    r.add_get("/v1/engines/{name}/logs", logs)
    r.add_post("/v1/fleet/{kind}/scale", scale)
    r.add_post("/v1/fleet/{kind}/recycle", recycle_kind)
    r.add_get("/v1/function", function_metrics)
    r.add_get("/v1/store", store)
    r.add_get("/v1/discovery", discovery)
    r.add_get("/v1/faults", list_faults)
    r.add_post("/v1/faults", set_fault)
    r.add_delete("/v1/faults", clear_faults)
    r.add_post("/v1/reset", reset)
    r.add_post("/v1/down", down)
    r.add_get("/v1/events", events)
    from .engine_routes import add_routes
    add_routes(r)  # engine status, ledger and workload, forwarded to the engine
    return app
