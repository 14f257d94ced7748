"""The kit's client on the wire, checked by a real server that records requests."""
from __future__ import annotations

from aiohttp import web

from emulator.conformance.client import USER_AGENT, WkpClient, open_session
from emulator.conformance.context import ClauseContext, Settings


async def test_requests_carry_no_transport_coding_and_name_the_kit():
    """What goes on the wire: checked by a real server recording one request."""
    seen = []

    async def record(request):
        seen.append((request.headers.copy(), request.raw_path))
        return web.Response(status=204)
    app = web.Application()
    app.router.add_get("/restore", record)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        endpoint = "http://127.0.0.1:%d" % site._server.sockets[0].getsockname()[1]
        async with open_session(5) as session:
            ctx = ClauseContext(WkpClient(session, endpoint), Settings(endpoint, "s", "t"), "x")
            assert (await ctx.restore()).status == 204
    finally:
        await runner.cleanup()
    headers, raw_path = seen[0]
    assert "Accept-Encoding" not in headers and headers["User-Agent"] == USER_AGENT
    assert raw_path == "/restore?tenant=t&engine=relational&cursor=&latest=true"  # as signed
