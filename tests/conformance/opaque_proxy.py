"""A reverse proxy that hides a function's instances: it forwards WKP-1 requests
and answers byte for byte, but drops every X-Wkp-Emu-* header both ways, and has
no /_wkp/ routes. Behind it, wkp-emu's function looks like a function on a real
platform: no steering, no instance named in answers. Real HTTP on 127.0.0.1.

Run: python -m tests.conformance.opaque_proxy --upstream URL
prints {"endpoint": "http://127.0.0.1:PORT"} when ready; stops on SIGTERM.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import signal

import aiohttp
from aiohttp import web

UPSTREAM = web.AppKey("upstream", str)
SESSION = web.AppKey("session", aiohttp.ClientSession)
HOP = {"host", "content-length", "transfer-encoding", "connection"}


def _kept(headers) -> dict:
    return {k: v for k, v in headers.items()
            if not k.lower().startswith("x-wkp-emu-") and k.lower() not in HOP}


async def forward(request: web.Request) -> web.StreamResponse:
    if request.path.startswith("/_wkp/"):
        raise web.HTTPNotFound()
    body = await request.read()
    async with request.app[SESSION].request(request.method, request.app[UPSTREAM] + request.path_qs,
                                            headers=_kept(request.headers), data=body or None,
                                            allow_redirects=False) as resp:
        payload = await resp.read()
        return web.Response(status=resp.status, body=payload, headers=_kept(resp.headers))


async def _session_ctx(app):
    app[SESSION] = aiohttp.ClientSession(auto_decompress=False)
    yield
    await app[SESSION].close()


async def main(upstream: str) -> None:
    app = web.Application(client_max_size=1 << 30)
    app[UPSTREAM] = upstream.rstrip("/")
    app.cleanup_ctx.append(_session_ctx)
    app.router.add_route("*", "/{tail:.*}", forward)
    runner = web.AppRunner(app, auto_decompress=False, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = site._server.sockets[0].getsockname()[:2]
    print(json.dumps({"endpoint": f"http://{host}:{port}"}), flush=True)
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    await stop.wait()
    await runner.cleanup()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--upstream", required=True)
    asyncio.run(main(parser.parse_args().upstream))
