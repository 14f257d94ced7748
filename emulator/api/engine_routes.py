"""Control API routes that reach an engine's own admin surface, the workload switches and
the store browser's objects, each a call to the control surface (supervisor side):

    GET  /v1/engines/{name}/status     the engine's whole last /status (polled every second)
    GET  /v1/engines/{name}/ledger     its write ledger's tail (?tail=N, default 50, 0 = all,
                                       at most 100000; anything else is 400) and recovery
    GET  /v1/engines/{name}/workload   its write generator
    POST /v1/engines/{name}/workload   {"rate": n | "auto", "value_bytes": n}: switch it now
    POST /v1/fleet/{kind}/workload     the same for every running engine of the kind, and
                                       remembered for the kind's later pods
    GET  /v1/store/objects?tenant=T&engine=E&instance=I   one instance's objects (the TUI's
                                       store browser): kind, cursors, size, encoding, part, age
"""
from __future__ import annotations

from aiohttp import web

from emulator.supervisor.control import ledger_tail_size


def _control(request):
    from .app import control
    return control(request)


async def engine_status(request):
    return web.json_response(_control(request).engine_status(request.match_info["name"]))


async def engine_ledger(request):
    tail = ledger_tail_size(request.query.get("tail", "50"))
    return web.json_response(await _control(request).ledger(request.match_info["name"], tail))


async def get_workload(request):
    status, data = await _control(request).workload(request.match_info["name"])
    return web.json_response(data, status=status)


async def _body(request) -> dict:
    from .app import json_object
    return await json_object(request)


async def set_workload(request):
    name = request.match_info["name"]
    return web.json_response(await _control(request).set_workload(name, await _body(request)))


async def set_kind_workload(request):
    kind = request.match_info["kind"]
    return web.json_response(await _control(request).set_kind_workload(kind, await _body(request)))


async def store_objects(request):
    """The snapshot objects (and claim) under one tenant / engine / instance."""
    q = request.query
    return web.json_response(await _control(request).store_objects(
        q.get("tenant", ""), q.get("engine", ""), q.get("instance", "")))


def add_routes(router) -> None:
    router.add_get("/v1/store/objects", store_objects)
    router.add_get("/v1/engines/{name}/status", engine_status)
    router.add_get("/v1/engines/{name}/ledger", engine_ledger)
    router.add_get("/v1/engines/{name}/workload", get_workload)
    router.add_post("/v1/engines/{name}/workload", set_workload)
    router.add_post("/v1/fleet/{kind}/workload", set_kind_workload)
