"""Control API routes that reach an engine's own admin surface through the supervisor:

    GET  /v1/engines/{name}/status     the engine's whole last /status (polled every second)
    GET  /v1/engines/{name}/ledger     its write ledger's tail (?tail=N, default 50) and recovery
    GET  /v1/engines/{name}/workload   its write generator
    POST /v1/engines/{name}/workload   {"rate": n | "auto", "value_bytes": n}: switch it now
    POST /v1/fleet/{kind}/workload     the same for every running engine of the kind, and
                                       remembered for the kind's later pods
    GET  /v1/store/objects?tenant=T&engine=E&instance=I   one instance's objects (the TUI's
                                       store browser): kind, cursors, size, encoding, part, age
"""
from __future__ import annotations

from aiohttp import web

from emulator.supervisor.engine_admin import (EngineUnreachable, engine_call, kind_workload_config,
                                              ledger_tail)
from emulator.supervisor.supervisor import ActionError


def _sup(request):
    from .app import SUPERVISOR
    return request.app[SUPERVISOR]


async def _engine(pod, method, path, body=None):
    try:
        return await engine_call(pod, method, path, body)
    except EngineUnreachable as exc:
        raise ActionError(str(exc), 409) from None


async def engine_status(request):
    pod = _sup(request).pod(request.match_info["name"])
    return web.json_response({"name": pod.name, "state": pod.state, "status": pod.status})


async def engine_ledger(request):
    pod = _sup(request).pod(request.match_info["name"])
    tail = request.query.get("tail", "50")
    if not (tail.isascii() and tail.isdigit() and int(tail) <= 100000):
        raise ActionError(f"tail must be a number of entries from 0 to 100000, got {tail!r}")
    try:
        return web.json_response(await ledger_tail(pod, int(tail)))
    except EngineUnreachable as exc:
        raise ActionError(str(exc), 409) from None


async def get_workload(request):
    pod = _sup(request).pod(request.match_info["name"])
    status, data = await _engine(pod, "GET", "/admin/workload")
    return web.json_response({"name": pod.name, **data}, status=status)


async def _body(request) -> dict:
    from .app import json_object
    return await json_object(request)


async def set_workload(request):
    pod = _sup(request).pod(request.match_info["name"])
    status, data = await _engine(pod, "POST", "/admin/workload", await _body(request))
    if status != 200:
        raise ActionError(f"{pod.name}: {data.get('error', data)}", status)
    s = _sup(request)
    s.events.emit("engine.workload", pod.name, **data)
    return web.json_response({"name": pod.name, **data})


async def set_kind_workload(request):
    s, kind = _sup(request), request.match_info["kind"]
    s._kind(kind)
    body = await _body(request)
    from engines_fake.workload import WorkloadRejected, parse_switch
    try:  # checked here too: a kind scaled to zero has no engine to check it
        rate, value_bytes = parse_switch(body)
    except WorkloadRejected as exc:
        raise ActionError(str(exc)) from None
    answers = []
    for pod in [p for p in s.pods.values() if p.slot.kind == kind and p.state == "running"]:
        status, data = await _engine(pod, "POST", "/admin/workload", body)
        if status != 200:  # the first engine validates the body for all of them
            raise ActionError(f"{pod.name}: {data.get('error', data)}", status)
        s.events.emit("engine.workload", pod.name, **data)
        answers.append({"name": pod.name, **data})
    s.config = kind_workload_config(s.config, kind, rate, value_bytes)
    return web.json_response({"kind": kind, "rate": rate, "value_bytes": value_bytes,
                              "engines": answers})


async def store_objects(request):
    """The snapshot objects (and claim) under one tenant / engine / instance."""
    from emulator.protocol import layout
    q = request.query
    parts = [q.get("tenant", ""), q.get("engine", ""), q.get("instance", "")]
    if not all(p and "/" not in p for p in parts):
        raise ActionError("tenant, engine and instance are required (names without /)")
    prefix = "/".join([layout.ROOT, *parts]) + "/"
    objects = []
    for info in await _sup(request).services.store.list(prefix):
        obj = layout.parse_key(info.key, info.size, info.etag, info.last_modified)
        if obj is None:
            objects.append({"key": info.key, "kind": "other", "size": info.size,
                            "stored_at": info.last_modified})
            continue
        objects.append({"key": obj.key, "kind": obj.kind, "size": obj.size, "etag": obj.etag,
                        "stored_at": obj.stored_at, "encoding": obj.encoding.value,
                        "cursor_from": str(obj.cursor_from) if obj.cursor_from else None,
                        "cursor_to": str(obj.cursor_to),
                        "part": [obj.part.index, obj.part.count] if obj.part else None})
    return web.json_response({"prefix": prefix, "objects": objects})


def add_routes(router) -> None:
    router.add_get("/v1/store/objects", store_objects)
    router.add_get("/v1/engines/{name}/status", engine_status)
    router.add_get("/v1/engines/{name}/ledger", engine_ledger)
    router.add_get("/v1/engines/{name}/workload", get_workload)
    router.add_post("/v1/engines/{name}/workload", set_workload)
    router.add_post("/v1/fleet/{kind}/workload", set_kind_workload)
