"""Request faults and metrics at a function's front door, for the hosts that run a function elsewhere.

The Lambda host's Function URL and the stand-ins' front (front.py) sit where the
platform's own front end sits, in front of function code that runs in other
processes. The emulator's fault table and request metrics apply there, the same
way for both: `serve(request, inner, metrics=, faults=)` counts the request in
the metrics and lets the fault table delay it, drop its connection or answer for
the function before `inner` (the relay to the function) is called.
"""
from __future__ import annotations

import asyncio
import time
from typing import Awaitable, Callable

from aiohttp import web

WKP_PATHS = ("/persist", "/restore", "/health")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Dropped(web.HTTPServiceUnavailable):
    """The outage fault closed the connection: nothing was sent (aiohttp ends it quietly)."""


async def serve(request: web.Request, inner: Handler, *, metrics, faults) -> web.StreamResponse:
    """`inner(request)` under the fault table, observed by the metrics (either may be None)."""
    if metrics is None or request.path not in WKP_PATHS:
        return await _faulty(request, inner, faults)
    started, status, out = time.perf_counter(), 500, 0
    try:
        response = await _faulty(request, inner, faults)
        status = response.status
        out = response.body_length if response.prepared else len(response.body or b"")
        return response
    except Dropped:
        status = "dropped"
        raise
    finally:
        metrics.observe(request.path, status, time.perf_counter() - started,
                        request.content_length or 0, out or 0)


async def _faulty(request: web.Request, inner: Handler, faults) -> web.StreamResponse:
    if faults is not None and request.path in WKP_PATHS:
        hit = faults.on_request(request.path, request.content_length)
        if hit.delay_s:
            await asyncio.sleep(hit.delay_s)
        if hit.drop:
            request.transport.abort()
            raise Dropped()
        if hit.status is not None:
            return web.json_response({"error": "InjectedFault", "reason": hit.reason},
                                     status=hit.status, headers=hit.headers)
    return await inner(request)
