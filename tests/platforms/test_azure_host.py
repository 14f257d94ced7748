"""The local Azure Functions host as a real process serving a small v2 app
over HTTP: routing under the route prefix, route parameters, the request and
answer limits, failures of the function, and the reference function's own
answer when it is not configured."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from emulator.platforms.standin_process import spawn, wait_json_line

from .standins import REPO

APP = '''
import json, time
import azure.functions as func
app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)

@app.route(route="echo/{name}")
def echo(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(json.dumps({"name": req.route_params["name"], "params": dict(req.params),
                                         "method": req.method, "url": req.url, "length": len(req.get_body()),
                                         "header": req.headers.get("x-probe")}),
                             mimetype="application/json", headers={"X-Echo": "1"})

@app.route(route="post-only", methods=["POST"])
def post_only(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(status_code=204)

@app.route(route="slow")
def slow(req: func.HttpRequest) -> func.HttpResponse:
    time.sleep(3)
    return func.HttpResponse("late")

@app.route(route="boom")
def boom(req: func.HttpRequest) -> func.HttpResponse:
    raise RuntimeError("boom")
'''


def host_process(app_dir: Path, log: Path, *args: str, env=None):
    return spawn("the Azure host", [sys.executable, "-m", "emulator.platforms.azure_host", "--app-dir",
                                    str(app_dir), *args], log, json_line=True, cwd=REPO,
                 env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})})


@pytest.fixture(scope="module")
def host(tmp_path_factory):
    app_dir = tmp_path_factory.mktemp("app")
    (app_dir / "function_app.py").write_text(APP)
    child = host_process(app_dir, app_dir / "host.log", "--timeout", "0.5", "--request-limit", "1000")
    try:
        yield wait_json_line(child, 30)["endpoint"]
    finally:
        child.stop()


def call(url, method="GET", data=None, headers=None):
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def test_route_params_query_headers_and_body_reach_the_function(host):
    status, headers, body = call(f"{host}/api/echo/abc?x=1&y=", "POST", b"12345", {"X-Probe": "p"})
    assert status == 200 and headers["X-Echo"] == "1" and headers["Content-Type"].startswith("application/json")
    got = json.loads(body)
    assert got == {"name": "abc", "params": {"x": "1", "y": ""}, "method": "POST",
                   "url": f"{host}/api/echo/abc?x=1&y=", "length": 5, "header": "p"}


def test_no_route_outside_the_prefix_or_for_another_method(host):
    assert call(f"{host}/echo/abc")[0] == 404  # host.json absent: the prefix is "api"
    assert call(f"{host}/api/post-only")[0] == 404
    assert call(f"{host}/api/post-only", "POST", b"")[0] == 204


def test_a_body_over_the_request_limit_is_413_before_the_function(host):
    status, _, body = call(f"{host}/api/echo/x", "POST", b"x" * 1001)
    assert status == 413 and json.loads(body)["error"] == "PayloadTooLarge"
    assert call(f"{host}/api/echo/x", "POST", b"x" * 1000)[0] == 200


def test_a_chunked_body_is_read_whole(host):
    port = int(host.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(b"POST /api/echo/c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                  b"Connection: close\r\n\r\n3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n")
        reply = b""
        while chunk := s.recv(65536):
            reply += chunk
    assert reply.startswith(b"HTTP/1.1 200")
    assert json.loads(reply.split(b"\r\n\r\n", 1)[1])["length"] == 7


def test_an_answer_past_the_limit_is_502_and_the_host_serves_on(host):
    started = time.monotonic()
    status, _, body = call(f"{host}/api/slow")
    assert status == 502 and "0.5 s" in json.loads(body)["reason"]
    assert time.monotonic() - started < 2.5
    assert call(f"{host}/api/echo/after")[0] == 200


def test_an_exception_in_the_function_is_500(host):
    status, _, body = call(f"{host}/api/boom")
    assert status == 500 and "RuntimeError" in json.loads(body)["reason"]


def test_an_app_dir_without_function_app_is_refused_naming_the_file(tmp_path):
    done = subprocess.run([sys.executable, "-m", "emulator.platforms.azure_host", "--app-dir", str(tmp_path)],
                          capture_output=True, text=True, cwd=REPO, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    assert done.returncode == 2 and "function_app.py: no such file" in done.stderr
    assert "Traceback" not in done.stderr


def test_the_reference_function_unconfigured_answers_500_naming_the_setting(tmp_path):
    env = {k: "" for k in ("WKP_CONTAINER", "WKP_STORAGE_CONNECTION", "AzureWebJobsStorage",
                           "WEFTKIT_PERSIST_SECRET")}
    child = host_process(REPO / "wkp_functions" / "azure", tmp_path / "host.log", env=env)
    try:
        endpoint = wait_json_line(child, 30)["endpoint"]
        status, _, body = call(f"{endpoint}/health")  # routePrefix "" in its host.json
        assert status == 500
        assert json.loads(body) == {"error": "Misconfigured",
                                    "reason": "WKP_CONTAINER is not set: the blob container"}
    finally:
        child.stop()
