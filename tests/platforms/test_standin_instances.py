"""The stand-ins' instances (seed 002): functions-framework processes behind the front, one per
instance, chosen by the pure pool. Real processes, real HTTP on loopback: warm reuse, a cold
start on steering, each instance its own process and /tmp, 429 at the limit, reaping after the
keep-alive and on POST /_wkp/instances/reap, and a cold start that fails answered 502."""
from __future__ import annotations

import http.client
import json
import os
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from emulator.platforms.gcf_host import standin as gcf
from emulator.platforms.standin_process import spawn, wait_port, free_port
from emulator.platforms.worker_instances import WorkerSettings
from emulator.protocol.function_instances import COLD_HEADER, INSTANCE_HEADER

from .standins import SECRET, FrontThread


def request(endpoint: str, method: str, path: str, headers: dict | None = None):
    """(status, headers, body) of one request on a connection of its own."""
    parts = urlsplit(endpoint)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        conn.request(method, path, headers=headers or {})
        reply = conn.getresponse()
        return reply.status, dict(reply.getheaders()), reply.read()
    finally:
        conn.close()


def instances(front) -> dict:
    return json.loads(request(front.endpoint, "GET", "/_wkp/instances")[2])


def until(condition, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)
    return value


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


@pytest.fixture(scope="module")
def gcs(tmp_path_factory):
    standin = gcf.start_gcf(SECRET, state_dir=tmp_path_factory.mktemp("gcs"), function=False)
    yield standin
    standin.stop()


@pytest.fixture
def make_front(gcs, tmp_path):
    fronts = []

    def make(**settings) -> FrontThread:
        # the fixture's front must not stop the module's store: stop only the front and instances
        front = FrontThread(_StoreKept(gcs), tmp_path / f"instances-{len(fronts)}", WorkerSettings(**settings))
        fronts.append(front)
        return front

    yield make
    for front in fronts:
        front.stop()


class _StoreKept:
    """The stand-in as the front sees it, with its store left running at the front's stop."""

    def __init__(self, standin):
        self.standin, self.storage_endpoint = standin, standin.storage_endpoint

    def start_worker(self, instance_id, tmp):
        return self.standin.start_worker(instance_id, tmp)

    def stop(self):
        pass


def test_warm_reuse_steering_and_an_instance_per_process(make_front, tmp_path):
    front = make_front()
    status, first, _ = request(front.endpoint, "GET", "/health")
    assert status != 429 and first[INSTANCE_HEADER] == "i-1" and first[COLD_HEADER] == "1"
    _, again, _ = request(front.endpoint, "GET", "/health")
    assert again[INSTANCE_HEADER] == "i-1" and COLD_HEADER not in again  # warm reuse
    _, new, _ = request(front.endpoint, "GET", "/health", {INSTANCE_HEADER: "new"})
    assert new[INSTANCE_HEADER] == "i-2" and new[COLD_HEADER] == "1"
    _, chosen, _ = request(front.endpoint, "GET", "/health", {INSTANCE_HEADER: "i-1"})
    assert chosen[INSTANCE_HEADER] == "i-1" and COLD_HEADER not in chosen
    view = instances(front)
    assert (view["live"], view["cold_starts"], view["warm_hits"]) == (2, 2, 2)
    pids = {i["id"]: i["pid"] for i in view["instances"]}
    assert pids["i-1"] != pids["i-2"] and not any(gone(p) for p in pids.values())
    assert (tmp_path / "instances-0" / "i-1").is_dir() and (tmp_path / "instances-0" / "i-2").is_dir()


def test_429_with_retry_after_when_every_instance_is_busy(make_front):
    front = make_front(instances_max=1, instance_concurrency=1)
    parts = urlsplit(front.endpoint)
    held = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:  # a push whose body has not all arrived holds the only instance
        held.putrequest("POST", "/persist")
        held.putheader("Content-Length", "4")
        held.endheaders(b"x")
        until(lambda: instances(front)["inflight"] == 1)
        status, headers, body = request(front.endpoint, "GET", "/health")
        assert status == 429 and headers["Retry-After"] == "1"
        assert json.loads(body)["error"] == "Throttled"
        held.send(b"yzw")
        assert held.getresponse().status in (400, 401)  # the function's answer to an unsigned push
    finally:
        held.close()
    until(lambda: instances(front)["inflight"] == 0)
    assert request(front.endpoint, "GET", "/health")[1][INSTANCE_HEADER] == "i-1"
    assert instances(front)["throttles"] == 1


def test_idle_instances_are_reaped_after_the_keep_alive_and_on_request(make_front, tmp_path):
    front = make_front(keep_alive_s=0.5)
    request(front.endpoint, "GET", "/health")
    pid = instances(front)["instances"][0]["pid"]
    until(lambda: instances(front)["live"] == 0)          # idle past the keep-alive
    until(lambda: gone(pid) and not (tmp_path / "instances-0" / "i-1").exists())
    _, headers, _ = request(front.endpoint, "GET", "/health")
    assert headers[INSTANCE_HEADER] == "i-2" and headers[COLD_HEADER] == "1"  # a new one, cold

    steady = make_front()
    request(steady.endpoint, "GET", "/health")
    pid = instances(steady)["instances"][0]["pid"]
    status, _, body = request(steady.endpoint, "POST", "/_wkp/instances/reap")
    assert status == 200 and json.loads(body) == {"reaped": ["i-1"]}
    assert gone(pid) and instances(steady)["reaped"] == 1  # stopped before the answer


def test_a_cold_start_that_fails_is_a_502_and_the_next_request_starts_again(tmp_path):
    starts = []

    class Broken:
        storage_endpoint = ""

        def start_worker(self, instance_id, tmp):
            starts.append(instance_id)
            port = free_port()
            child = spawn("a function that exits", [sys.executable, "-c", "raise SystemExit(3)"],
                          Path(tmp) / "worker.log")
            wait_port(child, "127.0.0.1", port, 10)  # raises StandInFailed: it exited
            return child, f"http://127.0.0.1:{port}"

        def stop(self):
            pass

    front = FrontThread(Broken(), tmp_path / "instances")
    try:
        for _ in range(2):
            status, headers, body = request(front.endpoint, "GET", "/health")
            assert status == 502 and headers[INSTANCE_HEADER] == "i-1"
            assert "exited before it was ready" in json.loads(body)["reason"]
        assert starts == ["i-1", "i-1"]
    finally:
        front.stop()


def test_a_client_closing_a_restore_midway_is_no_error_and_the_instance_serves_on(make_front, caplog):
    """A client going away mid-body is normal at the front: no traceback, the instance released
    and serving the next request warm."""
    import random

    from emulator.protocol import signed_requests as sr
    from emulator.protocol.codec import Encoding
    from emulator.protocol.cursor import Cursor

    front = make_front()
    body = Encoding.ZSTD.compress(random.Random(7).randbytes(12 * 1024 * 1024), level=1)
    ids = dict(engine="relational", tenant="default", instance_id="leaving-1")
    push = sr.persist_request(secret=SECRET, body=body, now=int(time.time()), request_id="req-push",
                              strategy="incremental", kind="full", cursor_from=None,
                              cursor_to=Cursor(1, 1), encoding=Encoding.ZSTD, part=None, **ids)
    parts = urlsplit(front.endpoint)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    conn.request("POST", push.target, body=body, headers=dict(push.headers))
    assert conn.getresponse().status == 200
    conn.close()

    def restore(request_id):
        return sr.restore_request(secret=SECRET, now=int(time.time()), request_id=request_id, up_to=None,
                                  full_only=False, takeover=False, **ids)

    leaving = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    first = restore("req-leaving")
    leaving.request("GET", first.target, headers=dict(first.headers))
    reply = leaving.getresponse()
    assert reply.status == 200 and len(reply.read(64 * 1024)) == 64 * 1024
    leaving.sock.shutdown(2)  # the client goes away mid-body
    leaving.close()
    until(lambda: instances(front)["inflight"] == 0)
    again = restore("req-again")
    status, headers, restored = request(front.endpoint, "GET", again.target, dict(again.headers))
    assert status == 200 and restored == body
    assert headers[INSTANCE_HEADER] == "i-1" and COLD_HEADER not in headers
    noisy = [r for r in caplog.records if r.exc_info or r.levelname in ("ERROR", "CRITICAL")]
    assert noisy == [], [r.getMessage() for r in noisy]
