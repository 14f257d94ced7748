"""The emulator's front door for a function running in its own processes (the
Cloud Functions and Azure Functions stand-ins): an HTTP relay at the endpoint
the engines use, applying `wkp-emu fault` request faults and keeping the
request metrics `wkp-emu status` shows, then passing the request through
unchanged (method, path and raw query, headers, body streamed both ways).

It stands where the platform's own front end stands (Google's and Azure's
load balancers), so a fault here is one the platform could give.
"""
from __future__ import annotations

import asyncio
import time

import aiohttp
from aiohttp import web

WKP_PATHS = ("/persist", "/restore", "/health")
_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "upgrade", "proxy-connection", "host",
        "content-length", "trailer"}
CHUNK = 256 * 1024


class _Dropped(web.HTTPServiceUnavailable):
    """The outage fault closed the connection: nothing was sent."""


class FunctionFront:
    def __init__(self, upstream: str, *, faults=None, metrics=None):
        self.upstream, self.faults, self.metrics = upstream.rstrip("/"), faults, metrics
        self.session: aiohttp.ClientSession | None = None
        self.runner: web.AppRunner | None = None
        self.endpoint = ""

    async def start(self, host: str, port: int) -> str:
        self.session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None, sock_connect=10),
                                             auto_decompress=False)
        app = web.Application(client_max_size=0)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        # bodies are opaque compressed bytes (Content-Encoding: zstd), relayed as sent
        self.runner = web.AppRunner(app, auto_decompress=False, access_log=None, shutdown_timeout=2.0)
        await self.runner.setup()
        site = web.TCPSite(self.runner, host, port)
        await site.start()
        bound = self.runner.addresses[0]
        self.endpoint = f"http://{bound[0]}:{bound[1]}"
        return self.endpoint

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()
        if self.session is not None:
            await self.session.close()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if self.metrics is None or request.path not in WKP_PATHS:
            return await self._faulty(request)
        started, status, out = time.perf_counter(), 500, 0
        try:
            response = await self._faulty(request)
            status = response.status
            out = response.body_length if response.prepared else len(response.body or b"")
            return response
        except _Dropped:
            status = "dropped"
            raise
        finally:
            self.metrics.observe(request.path, status, time.perf_counter() - started,
                                 request.content_length or 0, out or 0)

    async def _faulty(self, request: web.Request) -> web.StreamResponse:
        if self.faults is not None and request.path in WKP_PATHS:
            hit = self.faults.on_request(request.path, request.content_length)
            if hit.delay_s:
                await asyncio.sleep(hit.delay_s)
            if hit.drop:
                request.transport.abort()
                raise _Dropped()
            if hit.status is not None:
                return web.json_response({"error": "InjectedFault", "reason": hit.reason},
                                         status=hit.status, headers=hit.headers)
        return await self._relay(request)

    async def _relay(self, request: web.Request) -> web.StreamResponse:
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP}
        body = request.content if request.body_exists else None
        if body is not None and request.content_length is not None:
            headers["Content-Length"] = str(request.content_length)
        url = self.upstream + request.raw_path  # the raw query: the signature covers it as sent
        try:
            async with self.session.request(request.method, url, headers=headers, data=body,
                                            allow_redirects=False) as upstream:
                out = web.StreamResponse(status=upstream.status, reason=upstream.reason)
                for name, value in upstream.headers.items():
                    if name.lower() not in _HOP:
                        out.headers.add(name, value)
                if upstream.content_length is not None:
                    out.content_length = upstream.content_length
                await out.prepare(request)
                async for chunk in upstream.content.iter_chunked(CHUNK):
                    await out.write(chunk)
                await out.write_eof()
                return out
        except aiohttp.ClientError as exc:
            if request.transport is None or request.transport.is_closing():
                raise
            return web.json_response({"error": "FunctionUnavailable",
                                      "reason": f"the function did not answer: {type(exc).__name__}"},
                                     status=502)
