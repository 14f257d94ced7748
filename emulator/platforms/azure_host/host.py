"""The local Azure Functions host: an HTTP server on loopback that loads a
Python v2 programming model app (function_app.py and host.json) and calls its
HTTP-triggered functions with the worker's own types.

For each request it does what the Functions host does for an HTTP trigger:
1. refuses a body over the request limit (Azure's maxRequestLength, 100 MiB)
   with 413 before the function runs;
2. finds the function by host.json's routePrefix and the trigger's route
   template and methods (404 when none matches, as Azure answers);
3. builds azure.functions.HttpRequest (method, URL as sent, headers, query
   parameters, route parameters, body) and calls the function in a worker
   thread;
4. waits at most the HTTP answer limit (230 s on Azure, the load balancer's
   idle timeout): past it the client gets 502 and the function runs on, as
   on Azure; an exception from the function is a 500;
5. sends the HttpResponse's status, headers and body.

One host process is one warm instance: module state (the core's warm chain
state) lives as long as the process. What it does not emulate is listed in
docs/functions.md ("Azure Functions", "What the local host is not").
"""
from __future__ import annotations

import importlib.util
import json
import logging
import sys
import threading
from concurrent.futures import ThreadPoolExecutor, TimeoutError as FutureTimeout
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import azure.functions as func

from ..profiles import function_profile
from . import routes

log = logging.getLogger("wkp.azure_host")

# The azure function profile's numbers (their sources are in profiles.py and docs/functions.md):
# a request body up to maxRequestLength (104857600 bytes), an answer within 230 s whatever
# functionTimeout says (the load balancer's idle timeout).
AZURE = function_profile("azure")
REQUEST_LIMIT = AZURE.max_request_bytes
ANSWER_LIMIT_S = AZURE.timeout_s
READ_CHUNK = 1024 * 1024


class AppLoadError(RuntimeError):
    """The app directory cannot be served; the message names the file and why."""


@dataclass(frozen=True)
class HttpFunction:
    name: str
    route: routes.Route
    methods: tuple[str, ...] | None
    call: object  # the user function: HttpRequest -> HttpResponse


@dataclass(frozen=True)
class HostSettings:
    request_limit: int | None = REQUEST_LIMIT
    answer_limit_s: float | None = ANSWER_LIMIT_S
    workers: int = 64


def _binding(function, kind: str) -> dict | None:
    for raw in function.get_raw_bindings():
        data = json.loads(raw)
        if data.get("type") == kind:
            return data
    return None


def load_app(app_dir: Path) -> tuple[str, list[HttpFunction]]:
    """(the route prefix, the app's HTTP functions) of a v2 model app directory."""
    app_dir = Path(app_dir)
    script = app_dir / "function_app.py"
    if not script.is_file():
        raise AppLoadError(f"{script}: no such file (a v2 programming model app has function_app.py)")
    host_json = app_dir / "host.json"
    try:
        prefix = routes.route_prefix(routes.load_host_json(host_json.read_text(), str(host_json))
                                     if host_json.is_file() else None)
    except routes.RouteError as exc:
        raise AppLoadError(str(exc)) from None
    if str(app_dir) not in sys.path:
        sys.path.insert(0, str(app_dir))
    spec = importlib.util.spec_from_file_location("function_app", script)
    module = importlib.util.module_from_spec(spec)
    sys.modules["function_app"] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        raise AppLoadError(f"{script}: import failed: {type(exc).__name__}: {exc}") from exc
    apps = [v for v in vars(module).values() if isinstance(v, func.FunctionApp)]
    if not apps:
        raise AppLoadError(f"{script}: no FunctionApp (app = func.FunctionApp()) at module level")
    functions = []
    for function in apps[0].get_functions():
        trigger = _binding(function, "httpTrigger")
        if trigger is None:
            continue  # timers, queues, ...: not served over HTTP
        template = trigger.get("route") or function.get_function_name()
        try:
            route = routes.compile_route(template)
        except routes.RouteError as exc:
            raise AppLoadError(f"{script}: function {function.get_function_name()}: {exc}") from None
        methods = tuple(str(m).upper() for m in trigger.get("methods") or ()) or None
        functions.append(HttpFunction(function.get_function_name(), route, methods,
                                      function.get_user_function()))
    if not functions:
        raise AppLoadError(f"{script}: the app has no HTTP-triggered function")
    return prefix, functions


def find(functions: list[HttpFunction], prefix: str, method: str, path: str):
    """(function, route params) for a request, or None (Azure answers 404)."""
    parts = routes.strip_prefix(prefix, path)
    if parts is None:
        return None
    for fn in functions:
        params = fn.route.match(parts)
        if params is not None and routes.allows(fn.methods, method):
            return fn, params
    return None


class _Refused(Exception):
    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status, self.reason = status, reason


class AzureHost:
    def __init__(self, app_dir: Path, settings: HostSettings = HostSettings()):
        self.prefix, self.functions = load_app(app_dir)
        self.settings = settings
        self.pool = ThreadPoolExecutor(max_workers=settings.workers, thread_name_prefix="azure-fn")
        self.server: ThreadingHTTPServer | None = None

    def serve(self, host: str = "127.0.0.1", port: int = 0) -> tuple[str, int]:
        handler = type("Handler", (_Handler,), {"host": self})
        self.server = ThreadingHTTPServer((host, port), handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, name="azure-host", daemon=True).start()
        return self.server.server_address[:2]

    def close(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
        self.pool.shutdown(wait=False, cancel_futures=True)

    def invoke(self, fn: HttpFunction, request: func.HttpRequest) -> func.HttpResponse:
        future = self.pool.submit(fn.call, request)
        try:
            response = future.result(timeout=self.settings.answer_limit_s)
        except FutureTimeout:
            raise _Refused(502, f"the function did not answer within {self.settings.answer_limit_s:g} s "
                                "(Azure's HTTP trigger limit); it keeps running") from None
        except Exception as exc:  # Azure's host answers 500 to an unhandled exception
            log.exception("function %s failed", fn.name)
            raise _Refused(500, f"function {fn.name} raised {type(exc).__name__}") from exc
        if not isinstance(response, func.HttpResponse):
            raise _Refused(500, f"function {fn.name} returned {type(response).__name__}, not HttpResponse")
        return response


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    host: AzureHost

    def log_message(self, fmt, *args):
        log.debug(fmt, *args)

    def _any(self):
        host = self.host
        try:
            split = urlsplit(self.path)
            found = find(host.functions, host.prefix, self.command, split.path)
            body = self._body(host.settings.request_limit)
            if found is None:
                raise _Refused(404, f"no function for {self.command} {split.path}")
            fn, params = found
            request = func.HttpRequest(
                self.command, f"http://{self.headers.get('Host', 'localhost')}{self.path}",
                headers={k: v for k, v in self.headers.items()},
                params=dict(parse_qsl(split.query, keep_blank_values=True)),
                route_params=params, body=body)
            self._send(host.invoke(fn, request))
        except _Refused as exc:
            self._error(exc.status, exc.reason)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _any

    def _body(self, limit: int | None) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            return self._chunked(limit)
        length = int(self.headers.get("Content-Length") or 0)
        if limit is not None and length > limit:
            self.close_connection = True  # the body is not read
            raise _Refused(413, f"request body of {length} bytes is over the {limit}-byte limit")
        return self.rfile.read(length) if length else b""

    def _chunked(self, limit: int | None) -> bytes:
        out = bytearray()
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return bytes(out)
            if limit is not None and len(out) + size > limit:
                self.close_connection = True
                raise _Refused(413, f"request body over the {limit}-byte limit")
            out += self.rfile.read(size)
            self.rfile.readline()

    def _send(self, response: func.HttpResponse) -> None:
        body = response.get_body() or b""
        # the function's own header names (HttpResponseHeaders lower-cases them) in HTTP's usual case;
        # the length is the host's to say
        headers = {"-".join(p.capitalize() for p in k.split("-")): v for k, v in response.headers.items()
                   if k.lower() not in ("content-length", "transfer-encoding")}
        if body and "Content-Type" not in headers and response.mimetype:
            headers["Content-Type"] = (f"{response.mimetype}; charset={response.charset}"
                                       if response.charset else response.mimetype)
        self.send_response(response.status_code)
        for name, value in headers.items():
            self.send_header(name, value)
        if response.status_code not in (204, 304):
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD" and response.status_code not in (204, 304):
            self.wfile.write(body)

    def _error(self, status: int, reason: str) -> None:
        payload = json.dumps({"error": {404: "NotFound", 413: "PayloadTooLarge", 500: "FunctionFailed",
                                        502: "PlatformTimeout"}.get(status, "Error"),
                              "reason": reason}).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(payload)
        except OSError:
            pass  # the client left
