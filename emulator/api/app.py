"""create_app(supervisor): the control API on loopback (REST + an SSE event stream).

Handlers parse and translate only; ActionError and FaultSpecError map to their
statuses in one middleware.
"""
from __future__ import annotations

import asyncio
import json

from aiohttp import web

from emulator.function.faults import FaultSpecError
from emulator.supervisor.control import ControlSurface
from emulator.supervisor.supervisor import ActionError

from .metrics import prometheus

SUPERVISOR = web.AppKey("supervisor", object)
CONTROL = web.AppKey("control", ControlSurface)


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


def control(request) -> ControlSurface:
    """Every decision behind these routes is the control surface's (supervisor side)."""
    return request.app[CONTROL]


async def health(request):
    """running | degraded (policy.health_status), with each failed engine's own message."""
    return web.json_response(control(request).health().to_json())


async def info(request):
    return web.json_response(sup(request).describe())


async def fleet(request):
    return web.json_response(control(request).fleet().to_json())


async def engine(request):
    return web.json_response(control(request).engine(request.match_info["name"]).to_json())


async def function_metrics(request):
    return web.json_response(control(request).function())


async def store(request):
    return web.json_response((await control(request).store()).to_json())


async def discovery(request):
    view = await control(request).discovery()
    return web.json_response(view.to_json(), status=view.status)


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
    return web.json_response(await control(request).faults())


async def set_fault(request):
    spec = await json_object(request)
    return web.json_response(await control(request).set_fault(spec), status=201)


async def clear_faults(request):
    return web.json_response(await control(request).clear_faults())


async def reset(request):
    return web.json_response({"removed": await control(request).reset_store()})


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


async def _watching(app):
    """While the API serves: service failures the supervisor's poll does not see."""
    task = asyncio.create_task(app[CONTROL].watch()) if app[SUPERVISOR] is not None else None
    yield
    if task is not None:
        task.cancel()


def create_app(supervisor) -> web.Application:
    app = web.Application(middlewares=[errors])
    app[SUPERVISOR] = supervisor
    app[CONTROL] = ControlSurface(supervisor)
    app.cleanup_ctx.append(_watching)
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
