"""The Lambda Runtime API, one endpoint per runtime process (instance).

    GET  /2018-06-01/runtime/invocation/next               the next event, when there is one
    POST /2018-06-01/runtime/invocation/{id}/response      buffered, or streamed with
         Lambda-Runtime-Function-Response-Mode: streaming (chunked body, prelude first)
    POST /2018-06-01/runtime/invocation/{id}/error         the invocation failed
    POST /2018-06-01/runtime/init/error                    the runtime could not start

`next` answers with the event and the headers Lambda-Runtime-Aws-Request-Id,
-Deadline-Ms, -Invoked-Function-Arn and -Trace-Id. One endpoint per instance
is how the host decides which instance serves an invocation (the pure pool's
choice): each process polls only its own.
"""
from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, field

from aiohttp import web

log = logging.getLogger("wkp.lambda_host")

API = "/2018-06-01/runtime"
END = object()  # the stream ended with its last chunk
# The Runtime API's answer to a buffered response over the limit, as Lambda words it.
RESPONSE_TOO_LARGE_TEXT = "Exceeded maximum allowed payload size ({limit} bytes)."


@dataclass(frozen=True)
class Buffered:
    payload: bytes


@dataclass(frozen=True)
class Streamed:
    """Chunks arrive on `chunks`; the stream ends with END, or an Exception if it broke."""
    chunks: asyncio.Queue


@dataclass(frozen=True)
class Failed:
    error_type: str
    message: str


@dataclass
class Invocation:
    request_id: str
    event: bytes
    deadline_ms: int
    function_arn: str
    trace_id: str
    outcome: asyncio.Future = field(default_factory=lambda: asyncio.get_running_loop().create_future())

    def settle(self, value) -> bool:
        if self.outcome.done():
            return False
        self.outcome.set_result(value)
        return True


@dataclass
class RuntimeEndpoint:
    """The Runtime API one runtime process talks to."""
    max_buffered_bytes: int
    max_streamed_bytes: int | None
    queue: asyncio.Queue = field(default_factory=asyncio.Queue)
    polled: asyncio.Event = field(default_factory=asyncio.Event)  # the runtime asked for work: it is up
    init_error: Failed | None = None
    current: dict = field(default_factory=dict)  # request id -> Invocation, handed out, not answered

    def app(self) -> web.Application:
        app = web.Application(client_max_size=self.max_buffered_bytes + 1024 * 1024)
        app.router.add_get(f"{API}/invocation/next", self.next)
        app.router.add_post(f"{API}/invocation/{{rid}}/response", self.response)
        app.router.add_post(f"{API}/invocation/{{rid}}/error", self.error)
        app.router.add_post(f"{API}/init/error", self.init_failed)
        return app

    async def next(self, request: web.Request) -> web.StreamResponse:
        self.polled.set()
        inv: Invocation = await self.queue.get()
        self.current[inv.request_id] = inv
        return web.Response(body=inv.event, content_type="application/json", headers={
            "Lambda-Runtime-Aws-Request-Id": inv.request_id,
            "Lambda-Runtime-Deadline-Ms": str(inv.deadline_ms),
            "Lambda-Runtime-Invoked-Function-Arn": inv.function_arn,
            "Lambda-Runtime-Trace-Id": inv.trace_id})

    def _take(self, request: web.Request) -> Invocation:
        inv = self.current.pop(request.match_info["rid"], None)
        if inv is None:
            raise web.HTTPBadRequest(text=json.dumps({"errorMessage": "Invalid request ID",
                                                      "errorType": "InvalidRequestID"}),
                                     content_type="application/json")
        return inv

    async def response(self, request: web.Request) -> web.Response:
        inv = self._take(request)
        if request.headers.get("Lambda-Runtime-Function-Response-Mode", "").lower() == "streaming":
            return await self._stream(request, inv)
        payload = bytearray()
        async for chunk in request.content.iter_any():
            payload += chunk
            if len(payload) > self.max_buffered_bytes:
                message = RESPONSE_TOO_LARGE_TEXT.format(limit=self.max_buffered_bytes)
                inv.settle(Failed("Function.ResponseSizeTooLarge", message))
                return web.json_response({"errorMessage": message, "errorType": "RequestEntityTooLarge"},
                                         status=413)
        inv.settle(Buffered(bytes(payload)))
        return web.json_response({"status": "OK"}, status=202)

    async def _stream(self, request: web.Request, inv: Invocation) -> web.Response:
        chunks: asyncio.Queue = asyncio.Queue(8)  # backpressure: the runtime waits for the client
        inv.settle(Streamed(chunks))
        sent = 0
        try:
            async for chunk in request.content.iter_any():
                sent += len(chunk)
                if self.max_streamed_bytes is not None and sent > self.max_streamed_bytes:
                    await chunks.put(StreamTooLarge(self.max_streamed_bytes))
                    return web.json_response({"errorMessage": "streamed response over "
                                              f"{self.max_streamed_bytes} bytes",
                                              "errorType": "ResponseSizeTooLarge"}, status=413)
                await chunks.put(chunk)
        except Exception as exc:  # the runtime cut the stream (its way of failing mid-response)
            await chunks.put(StreamBroken(f"the function's stream broke: {type(exc).__name__}"))
            return web.Response(status=400)
        await chunks.put(END)
        return web.json_response({"status": "OK"}, status=202)

    async def error(self, request: web.Request) -> web.Response:
        inv = self._take(request)
        inv.settle(await _failure(request))
        return web.json_response({"status": "OK"}, status=202)

    async def init_failed(self, request: web.Request) -> web.Response:
        self.init_error = await _failure(request, "Runtime.InitError")
        log.warning("runtime init failed: %s", self.init_error.message)
        return web.json_response({"status": "OK"}, status=202)


class StreamBroken(Exception):
    pass


class StreamTooLarge(Exception):
    def __init__(self, limit: int):
        super().__init__(f"streamed response over {limit} bytes")


async def _failure(request: web.Request, default_type: str = "Unhandled") -> Failed:
    body = await request.read()
    try:
        data = json.loads(body) if body else {}
    except ValueError:
        data = {}
    if not isinstance(data, dict):
        data = {}
    return Failed(request.headers.get("Lambda-Runtime-Function-Error-Type") or data.get("errorType")
                  or default_type, str(data.get("errorMessage", ""))[:1000])
