"""The emulator's front door for a function running in its own processes (the
Cloud Functions and Azure Functions stand-ins): an HTTP relay at the endpoint
the engines use, applying `wkp-emu fault` request faults and keeping the
request metrics `wkp-emu status` shows, then passing the request through
unchanged (method, path and raw query, headers, body streamed both ways).

It stands where the platform's own front end stands (Google's and Azure's
load balancers), so a fault here is one the platform could give; and, as the
platform's router does, it picks the instance that serves each request
(worker_instances.py: a warm one, a cold start, or 429 at the limit). The
emulator's steering works as on the aiohttp function and the Lambda host
(docs/functions.md, "Steering"): `X-Wkp-Emu-Instance: new | i-N` on a request,
the serving instance named in every answer (`X-Wkp-Emu-Cold: 1` on a cold
start), `GET /_wkp/instances` and `POST /_wkp/instances/reap`.
"""
from __future__ import annotations


import aiohttp
from aiohttp import web

from emulator.protocol.function_instances import COLD_HEADER, INSTANCE_HEADER

from . import request_faults
from .worker_instances import InstancesBusy, InstanceStartFailed, WorkerInstances

_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "upgrade", "proxy-connection", "host",
        "content-length", "trailer", INSTANCE_HEADER.lower()}
CHUNK = 256 * 1024


class FunctionFront:
    def __init__(self, instances: WorkerInstances, *, faults=None, metrics=None):
        self.instances, self.faults, self.metrics = instances, faults, metrics
        self.session: aiohttp.ClientSession | None = None
        self.runner: web.AppRunner | None = None
        self.endpoint = ""

    async def start(self, host: str, port: int) -> str:
        self.session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None, sock_connect=10),
                                             auto_decompress=False)
        app = web.Application(client_max_size=0)
        app.router.add_get("/_wkp/instances", self._list_instances)
        app.router.add_post("/_wkp/instances/reap", self._reap_now)
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

    async def _list_instances(self, request: web.Request) -> web.Response:
        return web.json_response(self.instances.view())

    async def _reap_now(self, request: web.Request) -> web.Response:
        return web.json_response({"reaped": await self.instances.reap_idle_and_wait()})

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        return await request_faults.serve(request, self._relay, metrics=self.metrics, faults=self.faults)

    async def _relay(self, request: web.Request) -> web.StreamResponse:
        try:
            async with self.instances.serve(request.headers.get(INSTANCE_HEADER)) as (upstream, instance, cold):
                named = {INSTANCE_HEADER: instance, **({COLD_HEADER: "1"} if cold else {})}
                return await self._relay_to(request, upstream, named)
        except InstancesBusy as busy:
            return web.json_response({"error": "Throttled", "reason": str(busy)}, status=429,
                                     headers={"Retry-After": str(max(1, round(busy.retry_after_s)))})
        except InstanceStartFailed as exc:
            return web.json_response({"error": "FunctionUnavailable",
                                      "reason": f"the function's instance did not start: {exc}"},
                                     status=502, headers={INSTANCE_HEADER: exc.instance_id})

    async def _relay_to(self, request: web.Request, upstream: str, named: dict) -> web.StreamResponse:
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP}
        body = request.content if request.body_exists else None
        if body is not None and request.content_length is not None:
            headers["Content-Length"] = str(request.content_length)
        url = upstream + request.raw_path  # the raw query: the signature covers it as sent
        out: web.StreamResponse | None = None
        try:
            async with self.session.request(request.method, url, headers=headers, data=body,
                                            allow_redirects=False) as answer:
                out = web.StreamResponse(status=answer.status, reason=answer.reason)
                for name, value in answer.headers.items():
                    if name.lower() not in _HOP:
                        out.headers.add(name, value)
                out.headers.update(named)
                if answer.content_length is not None:
                    out.content_length = answer.content_length
                await out.prepare(request)
                async for chunk in answer.content.iter_chunked(CHUNK):
                    await out.write(chunk)
                await out.write_eof()
                return out
        except (aiohttp.ClientError, ConnectionError) as exc:
            if request.transport is None or request.transport.is_closing():
                # the client went away (a normal event, no error of the front's): aiohttp ends the
                # response quietly, and the instance is released for the next request
                return out if out is not None else web.Response(status=499, headers=named)
            if out is not None and out.prepared:  # the function failed mid-body: cut the client off
                request.transport.abort()         # (a chunked end would pass a cut body as whole)
                return out
            return web.json_response({"error": "FunctionUnavailable",
                                      "reason": f"the function did not answer: {type(exc).__name__}"},
                                     status=502, headers=named)
