"""create_app(config): the discovery node's REST API (JSON), with the node in cleanup_ctx.

Handlers only parse and translate; `error_middleware` is the one place domain
errors become HTTP statuses. The node (UDP socket, membership core) starts with
the app and leaves the cluster gracefully when the app is cleaned up.
Routes are documented in docs/discovery.md and docs/discovery-openapi.yaml.
"""
from __future__ import annotations

import time

from aiohttp import web

from emulator.membership import NotHostedHere, RegistrationConflict, Status

from . import views
from .config import DiscoveryConfig
from .faults import FaultPlan, FaultSpecError
from .keys import CONFIG, NODE
from .node import DiscoveryNode
from .registration import RequestError, parse_registration

routes = web.RouteTableDef()
MAX_WAIT_S = 30


class NotFound(LookupError):
    pass


def _error(status: int, error: str, message: str, **extra) -> web.Response:
    return web.json_response({"error": error, "message": message, **extra}, status=status)


@web.middleware
async def error_middleware(request: web.Request, handler):
    node: DiscoveryNode = request.app[NODE]
    try:
        return await handler(request)
    except (RequestError, FaultSpecError) as exc:
        return _error(400, "bad_request", str(exc), field=exc.field)
    except NotFound as exc:
        return _error(404, "not_found", str(exc))
    except RegistrationConflict as exc:
        return _error(409, "conflict", str(exc))
    except NotHostedHere as exc:
        host = node.core.table.member(exc.host) if exc.host else None
        return _error(409, "hosted_elsewhere", str(exc), host=exc.host,
                      host_endpoint=host.meta.endpoint if host else None)


def create_app(config: DiscoveryConfig) -> web.Application:
    app = web.Application(middlewares=[error_middleware])
    app[CONFIG] = config
    app.cleanup_ctx.append(_node_lifecycle)
    app.add_routes(routes)
    return app


async def _node_lifecycle(app: web.Application):
    node = await DiscoveryNode(app[CONFIG]).start()
    app[NODE] = node
    yield
    await node.stop(leave=True)


async def _json_body(request: web.Request):
    try:
        return await request.json()
    except ValueError:  # not JSON, not UTF-8, or an integer of thousands of digits
        raise RequestError("body", "expected a JSON body") from None


def _members_json(node: DiscoveryNode, members) -> list[dict]:
    now = node.now()
    return [views.member_json(node.core.entry(m.node_id), node.wall, now) for m in members]


def _member_or_404(node: DiscoveryNode, node_id: str):
    entry = node.core.entry(node_id)
    if entry is None:
        raise NotFound(f"no member {node_id!r}")
    return entry


# -- reads -------------------------------------------------------------------

@routes.get("/v1/health")
async def health(request: web.Request) -> web.Response:
    node: DiscoveryNode = request.app[NODE]
    members = node.core.members()
    me = node.core.self_member
    body = {
        "status": "leaving" if node.leaving else "ok",
        "node_id": me.node_id, "incarnation": me.incarnation,
        "gossip_addr": node.udp_addr, "api": node.config.api_url,
        "uptime_s": round(time.time() - node.started_wall, 3),
        "members": views.status_counts(members),
        "peers_alive": len(node.core.table.peers(me.node_id, (Status.ALIVE,))),
        "hosted": sum(1 for m in members if m.host == me.node_id and m.status.live),
        "gossip_interval_ms": node.config.gossip_interval_ms,
        "suspicion_timeout_ms": node.config.suspicion_timeout_ms,
        "udp": node.driver.stats.to_json(node.faults) if node.driver else None,
        "faults": node.faults.plan.to_json(),
    }
    return web.json_response(body, status=503 if node.leaving else 200)


_STATUSES = {s.value: s for s in Status}


def _status_filter(request: web.Request) -> set[Status] | None:
    raw = request.query.get("status")
    if raw is None:
        return None
    names = [s.strip() for s in raw.split(",") if s.strip()]
    bad = [s for s in names if s not in _STATUSES]
    if bad or not names:
        raise RequestError("status", f"expected a comma-separated list of {', '.join(_STATUSES)}")
    return {_STATUSES[s] for s in names}


@routes.get("/v1/members")
async def list_members(request: web.Request) -> web.Response:
    node: DiscoveryNode = request.app[NODE]
    statuses = _status_filter(request)
    group, type_ = request.query.get("group"), request.query.get("type")
    members = sorted((m for m in node.core.members()
                      if (statuses is None or m.status in statuses)
                      and (group is None or views.in_group(m, group))
                      and (type_ is None or m.meta.type == type_)), key=lambda m: m.node_id)
    return web.json_response({"node_id": node.node_id, "members": _members_json(node, members)})


@routes.get("/v1/members/{node_id}")
async def get_member(request: web.Request) -> web.Response:
    node: DiscoveryNode = request.app[NODE]
    entry = _member_or_404(node, request.match_info["node_id"])
    return web.json_response(views.member_json(entry, node.wall, node.now()))


@routes.get("/v1/groups")
async def list_groups(request: web.Request) -> web.Response:
    node: DiscoveryNode = request.app[NODE]
    return web.json_response({"groups": views.group_counts(node.core.members())})


@routes.get("/v1/groups/{group}")
async def get_group(request: web.Request) -> web.Response:
    node: DiscoveryNode = request.app[NODE]
    group = request.match_info["group"]
    members = sorted((m for m in node.core.members() if views.in_group(m, group)),
                     key=lambda m: m.node_id)
    return web.json_response({"group": group, "members": _members_json(node, members)})


def _wants_text(request: web.Request) -> bool:
    fmt = request.query.get("format")
    if fmt is not None:
        if fmt not in ("json", "text"):
            raise RequestError("format", "expected json or text")
        return fmt == "text"
    accept = request.headers.get("Accept", "")
    return "text/plain" in accept and "application/json" not in accept


@routes.get("/v1/groups/{group}/healthy")
async def healthy(request: web.Request) -> web.Response:
    """The load balancer's view: the group's alive endpoints as host:port, sorted."""
    node: DiscoveryNode = request.app[NODE]
    include_suspect = request.query.get("include_suspect", "false").lower() in ("1", "true", "yes")
    endpoints = views.healthy_endpoints(node.core.members(), request.match_info["group"],
                                        include_suspect=include_suspect)
    if _wants_text(request):
        return web.Response(text="".join(f"{e}\n" for e in endpoints), content_type="text/plain")
    return web.json_response(endpoints)


@routes.get("/v1/events")
async def events(request: web.Request) -> web.Response:
    """Membership changes after `after` (a seq); waits up to `wait` seconds for one."""
    node: DiscoveryNode = request.app[NODE]
    try:
        after = int(request.query.get("after", "0"))
        wait = min(float(request.query.get("wait", "0")), MAX_WAIT_S)
    except ValueError:
        raise RequestError("after", "after is an integer, wait a number of seconds") from None
    found = await node.wait_for_events(after, wait)
    body = [{"seq": e.seq, "at": views.iso(e.at), "node_id": e.node_id, "status": e.status,
             "previous": e.previous, "incarnation": e.incarnation} for e in found]
    last = found[-1].seq if found else max(after, 0)
    return web.json_response({"events": body, "last": last})


# -- registration of hosted members -----------------------------------------------

def _registration_reply(node: DiscoveryNode, member) -> dict:
    entry = node.core.entry(member.node_id)
    return {"member": views.member_json(entry, node.wall, node.now()),
            "host": node.node_id,
            "heartbeat_interval_ms": node.config.heartbeat_interval_ms,
            "heartbeat_timeout_ms": node.config.heartbeat_interval_ms * node.config.missed_heartbeats,
            "heartbeat_url": f"/v1/heartbeat/{member.node_id}"}


@routes.post("/v1/register")
async def register(request: web.Request) -> web.Response:
    node: DiscoveryNode = request.app[NODE]
    node_id, meta = parse_registration(await _json_body(request))
    member = node.register(node_id, meta)
    return web.json_response(_registration_reply(node, member), status=201)


@routes.post("/v1/heartbeat/{node_id}")
async def heartbeat(request: web.Request) -> web.Response:
    node: DiscoveryNode = request.app[NODE]
    node_id = request.match_info["node_id"]
    member = node.heartbeat(node_id)
    if member is None:
        return _error(404, "not_registered", f"{node_id!r} is not registered here: "
                      "POST /v1/register first")
    return web.json_response(_registration_reply(node, member))


@routes.delete("/v1/members/{node_id}")
async def leave(request: web.Request) -> web.Response:
    node: DiscoveryNode = request.app[NODE]
    node_id = request.match_info["node_id"]
    entry = node.core.entry(node_id)
    if entry is not None and entry.member.addr is not None:
        raise RegistrationConflict(f"{node_id} is a discovery node: it leaves when it stops "
                                   "(SIGTERM), not by DELETE")
    try:
        member = node.deregister(node_id)
    except KeyError:
        raise NotFound(f"no member {node_id!r}") from None
    return web.json_response(views.member_json(node.core.entry(member.node_id), node.wall,
                                               node.now()))


# -- fault hooks ---------------------------------------------------------------

def _faults_reply(node: DiscoveryNode) -> dict:
    return {"node_id": node.node_id, "plan": node.faults.plan.to_json(),
            "udp": node.driver.stats.to_json(node.faults) if node.driver else None}


@routes.get("/v1/faults")
async def get_faults(request: web.Request) -> web.Response:
    return web.json_response(_faults_reply(request.app[NODE]))


@routes.post("/v1/faults")
async def set_faults(request: web.Request) -> web.Response:
    node: DiscoveryNode = request.app[NODE]
    node.set_faults(FaultPlan.from_json(await _json_body(request)))
    return web.json_response(_faults_reply(node))


@routes.delete("/v1/faults")
async def clear_faults(request: web.Request) -> web.Response:
    node: DiscoveryNode = request.app[NODE]
    node.set_faults(FaultPlan())
    return web.json_response(_faults_reply(node))
