"""The platform around the function, applied live: timeout, response cap, streamed rate.

A function profile (emulator/platforms/profiles.py, [function] profile) puts
the function behind the limits of the platform it will be deployed on:

- a request still running at the timeout gets 502 from the platform (Azure's
  load balancer after 230 s; Lambda after the function timeout), or, if its
  response is already streaming, is cut off;
- a response is cut at the platform's largest response (Lambda URLs: 200 MiB
  streamed), so the client sees fewer bytes than Content-Length;
- past an unthrottled prefix, a streamed response leaves at the platform's
  rate (Lambda URLs: 6 MiB, then 2 MiB/s).

The request size limit needs nothing here: it lowers max_payload, and the
function's own 413 (naming the limit) is what the platform answers too.
"""
from __future__ import annotations

import asyncio

from aiohttp import web

from .config import PlatformLimits

PREPARED = web.RequestKey("platform_prepared", bool)  # the response head has gone out
CUT = web.RequestKey("platform_cut", bool)  # the platform cut this response short


class PlatformCut(web.HTTPBadGateway):
    """The platform cut the connection (timeout mid-stream, response over its cap). An
    HTTPException so that aiohttp ends the request quietly; nothing more is sent."""


def timeout_response(limits: PlatformLimits) -> web.Response:
    return web.json_response({"error": "PlatformTimeout",
                              "reason": f"the {limits.profile or 'platform'} timeout of "
                                        f"{limits.timeout_s:g} s passed before the function answered"},
                             status=502)


async def within_timeout(request: web.Request, handler, limits: PlatformLimits):
    """Run the handler under the platform's timeout."""
    if limits.timeout_s is None:
        return await handler(request)
    try:
        async with asyncio.timeout(limits.timeout_s):
            return await handler(request)
    except TimeoutError:
        if request.get(PREPARED):  # the head went out: the platform can only cut the stream
            request.transport.abort()
            raise PlatformCut(reason=f"cut at the {limits.timeout_s:g} s timeout") from None
        return timeout_response(limits)


async def paced(request: web.Request, chunks, limits: PlatformLimits):
    """The chunks of a streamed response, leaving no faster than the platform lets them,
    and cut at its largest response."""
    if not limits.paces:
        async for chunk in chunks:
            yield chunk
        return
    try:
        async for chunk in _paced(chunks, limits):
            yield chunk
    except PlatformCut:
        request[CUT] = True
        raise
    finally:  # a cut leaves the source unfinished: close it now, not at garbage collection
        await chunks.aclose()
        if request.get(CUT):
            # Only now, after the source is closed: closing the connection makes aiohttp
            # cancel the handler. close(), not abort(): what was written still goes out.
            request.transport.close()


async def _paced(chunks, limits: PlatformLimits):
    loop = asyncio.get_running_loop()
    sent, prefix, rate = 0, limits.stream_unthrottled_bytes, limits.stream_rate_bytes_s
    capped_from = None  # when the unthrottled prefix was used up
    cap = limits.max_response_bytes
    async for chunk in chunks:
        if cap is not None and sent + len(chunk) > cap:
            if cap > sent:
                yield chunk[:cap - sent]
            raise PlatformCut(reason=f"response cut at the platform's {cap}-byte maximum")
        if rate is not None:
            end = sent + len(chunk)
            if end > prefix:
                if capped_from is None:
                    capped_from = loop.time()
                # byte n (past the prefix) may leave (n - prefix) / rate after the prefix did
                wait = capped_from + (end - prefix) / rate - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
        sent += len(chunk)
        yield chunk
