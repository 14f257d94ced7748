"""The engine's data API (aiohttp): records, status, the write ledger.

    PUT    /records/{key}   body = value    -> 200 {"lsn": n}   (503 while restoring/stopping)
    GET    /records/{key}                   -> 200 value, X-Engine-Lsn: lsn of its last write
    DELETE /records/{key}                   -> 200 {"lsn": n}, 404 if absent
    GET    /records?prefix=P                -> {"keys": [...], "count": n}
    GET    /digest                          -> {"digest", "count", "lsn"} (compare whole states)
    GET    /status                          -> kind, instance_id, mode, cursor, lsn, durable_lsn, ...
    GET    /ledger                          -> {"entries": [...], "recovery": {...}}
    GET    /recovery                        -> what the last boot recovered (and lost)
    POST   /admin/push                      -> 202: start a push round now (demos, tests)
    GET|POST /admin/workload {"rate", "value_bytes"} -> the write generator, switched at run time
    GET|POST /faults/clock {"skew_s": s}    -> the clock fault: skew the signing clock
    GET|POST /faults/discovery {"partitioned": b} -> cut (or heal) the engine's heartbeats to discovery

Handlers only parse and translate; the engine (driver.py) decides, and its
WriteRefused carries the status to answer.
"""
from __future__ import annotations

import re

from aiohttp import web

ENGINE = web.AppKey("engine", object)
KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,199}")
MAX_VALUE = 16 * 1024 * 1024
MAX_SKEW_S = 365 * 86400


class WriteRefused(Exception):
    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status, self.reason = status, reason


def _key(request: web.Request) -> str:
    key = request.match_info["key"]
    if not KEY.fullmatch(key):
        raise web.HTTPBadRequest(text=f"key {key!r} must match {KEY.pattern}")
    return key


def _refused(exc: WriteRefused) -> web.Response:
    return web.json_response({"error": exc.reason}, status=exc.status)


async def put_record(request: web.Request) -> web.Response:
    engine, key = request.app[ENGINE], _key(request)
    value = await request.read()
    try:
        lsn = engine.write(key, value)
    except WriteRefused as exc:
        return _refused(exc)
    return web.json_response({"key": key, "lsn": lsn})


async def get_record(request: web.Request) -> web.Response:
    engine, key = request.app[ENGINE], _key(request)
    found = engine.volume.records.get(key)
    if found is None:
        return web.json_response({"error": f"no record {key!r}"}, status=404)
    lsn, value = found
    return web.Response(body=value, content_type="application/octet-stream",
                        headers={"X-Engine-Lsn": str(lsn)})


async def delete_record(request: web.Request) -> web.Response:
    engine, key = request.app[ENGINE], _key(request)
    if key not in engine.volume.records:
        return web.json_response({"error": f"no record {key!r}"}, status=404)
    try:
        lsn = engine.write(key, None)
    except WriteRefused as exc:
        return _refused(exc)
    return web.json_response({"key": key, "lsn": lsn, "deleted": True})


async def list_records(request: web.Request) -> web.Response:
    keys = request.app[ENGINE].volume.records.keys(request.query.get("prefix", ""))
    return web.json_response({"keys": keys, "count": len(keys)})


async def digest(request: web.Request) -> web.Response:
    volume = request.app[ENGINE].volume
    return web.json_response({"digest": volume.records.digest(), "count": len(volume.records),
                              "lsn": volume.lsn})


async def status(request: web.Request) -> web.Response:
    return web.json_response(request.app[ENGINE].status())


async def ledger(request: web.Request) -> web.Response:
    engine = request.app[ENGINE]
    return web.json_response({"entries": engine.volume.read_ledger(), "recovery": engine.recovery})


async def recovery(request: web.Request) -> web.Response:
    return web.json_response(request.app[ENGINE].recovery)


async def push_now(request: web.Request) -> web.Response:
    try:
        request.app[ENGINE].push_now()
    except WriteRefused as exc:
        return _refused(exc)
    return web.json_response({"requested": True}, status=202)


async def get_workload(request: web.Request) -> web.Response:
    from .workload import describe
    return web.json_response(describe(request.app[ENGINE]))


async def set_workload(request: web.Request) -> web.Response:
    """Turn the write generator on or off, or change its rate or value size, now."""
    from .workload import WorkloadRejected, parse_switch, switch
    try:
        body = await request.json()
    except ValueError:
        return web.json_response({"error": 'expected a JSON body {"rate": n, "value_bytes": n}'},
                                 status=400)
    try:
        rate, value_bytes = parse_switch(body)
    except WorkloadRejected as exc:
        return web.json_response({"error": str(exc)}, status=400)
    return web.json_response(switch(request.app[ENGINE], rate, value_bytes))


async def get_clock_fault(request: web.Request) -> web.Response:
    return web.json_response({"skew_s": request.app[ENGINE].clock_skew_s})


async def set_clock_fault(request: web.Request) -> web.Response:
    """Emulator fault hook: skew the clock the engine signs with (|skew| > 300 s makes
    the function answer 401, exercising "alert, retry with a fresh timestamp")."""
    try:
        skew = (await request.json())["skew_s"]
    except (ValueError, KeyError, TypeError):
        return web.json_response({"error": 'expected {"skew_s": seconds}'}, status=400)
    if isinstance(skew, bool) or not isinstance(skew, (int, float)) or abs(skew) > MAX_SKEW_S:
        return web.json_response({"error": f"skew_s must be a number of seconds within "
                                           f"±{MAX_SKEW_S}"}, status=400)
    request.app[ENGINE].clock_skew_s = float(skew)
    return web.json_response({"skew_s": float(skew)})


async def get_discovery_fault(request: web.Request) -> web.Response:
    presence = request.app[ENGINE]._membership
    return web.json_response({"partitioned": bool(presence and presence.partitioned)})


async def set_discovery_fault(request: web.Request) -> web.Response:
    """Emulator fault hook: a network partition between this engine and discovery. Its
    heartbeats stop (discovery suspects it, then marks it failed); healing resumes them
    and the engine comes back alive at a higher incarnation."""
    try:
        partitioned = (await request.json())["partitioned"]
    except (ValueError, KeyError, TypeError):
        return web.json_response({"error": 'expected {"partitioned": true|false}'}, status=400)
    if not isinstance(partitioned, bool):
        return web.json_response({"error": "partitioned must be true or false"}, status=400)
    presence = request.app[ENGINE]._membership
    if presence is None:
        return web.json_response({"error": "this engine is not in discovery "
                                           "(WEFTKIT_DISCOVERY_URL is not set)"}, status=409)
    presence.partitioned = partitioned
    return web.json_response({"partitioned": partitioned})


def create_app(engine) -> web.Application:
    app = web.Application(client_max_size=MAX_VALUE)
    app[ENGINE] = engine
    app.router.add_put("/records/{key}", put_record)
    app.router.add_get("/records/{key}", get_record)
    app.router.add_delete("/records/{key}", delete_record)
    app.router.add_get("/records", list_records)
    app.router.add_get("/digest", digest)
    app.router.add_get("/status", status)
    app.router.add_get("/ledger", ledger)
    app.router.add_get("/recovery", recovery)
    app.router.add_post("/admin/push", push_now)
    app.router.add_get("/admin/workload", get_workload)
    app.router.add_post("/admin/workload", set_workload)
    app.router.add_get("/faults/clock", get_clock_fault)
    app.router.add_post("/faults/clock", set_clock_fault)
    app.router.add_get("/faults/discovery", get_discovery_fault)
    app.router.add_post("/faults/discovery", set_discovery_fault)
    return app
