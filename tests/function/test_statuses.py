"""Every status of seed 000's table, produced when its condition holds."""
from __future__ import annotations

import asyncio
import socket

import pytest

from emulator.protocol.codec import Encoding
from emulator.protocol.cursor import Cursor
from emulator.protocol.function_rules import Limits
from tests.support.wkp_client import WkpClient

from .conftest import SECRET

NONE = Encoding.NONE


def c(seq):
    return Cursor(0, seq)


@pytest.mark.parametrize("header,value", [
    ("X-WeftKit-Engine", ""),
    ("X-WeftKit-Cursor-To", "wkc_00_1"),
    ("X-WeftKit-Tenant", "../escape"),
    ("X-WeftKit-Instance-Id", "a/b"),
    ("X-WeftKit-Snapshot-Kind", "partial"),
    ("X-WeftKit-Protocol", "v2"),
    ("X-WeftKit-Checksum", "md5=abc"),
])
async def test_malformed_headers_are_400_naming_the_header(wkp, header, value):
    req = wkp.persist_request(b"x", "full", c(1), encoding=NONE)
    reply = await wkp.send(req, b"x", {header: value})
    assert reply.status == 400, reply.body
    assert reply.json()["header"] == header


async def test_checksum_mismatch_with_a_valid_signature_is_400(wkp):
    from emulator.protocol import signed_requests as sr
    req = wkp.persist_request(b"real body", "full", c(1), encoding=NONE)
    # sign the real body, declare the checksum of another one
    headers = dict(req.headers)
    headers["X-WeftKit-Checksum"] = "sha256=" + "0" * 64
    signed = sr.resign(type(req)(req.method, req.path, req.query, headers), secret=SECRET, now=int(wkp.clock()))
    # resign signs the declared checksum; put the real digest back into the signature line
    import hashlib
    from emulator.protocol.signing import sign_request
    signed.headers["X-WeftKit-Signature"] = sign_request(
        SECRET, timestamp=signed.headers["X-WeftKit-Timestamp"], request_id=signed.headers["X-WeftKit-Request-Id"],
        method="POST", path="/persist", query="", body_sha256=hashlib.sha256(b"real body").hexdigest())
    reply = await wkp.send(signed, b"real body")
    assert reply.status == 400 and reply.json()["header"] == "X-WeftKit-Checksum"
    assert (await wkp.restore()).status == 204


async def test_bad_signature_expired_and_missing_are_401(wkp):
    req = wkp.persist_request(b"x", "full", c(1), encoding=NONE)
    bad = await wkp.send(req, b"x", {"X-WeftKit-Signature": "v1=" + "a" * 64})
    assert bad.status == 401
    stale = wkp.persist_request(b"x", "full", c(1), encoding=NONE, now=wkp.clock() - 301)
    assert (await wkp.send(stale, b"x")).status == 401
    future = wkp.persist_request(b"x", "full", c(1), encoding=NONE, now=wkp.clock() + 301)
    assert (await wkp.send(future, b"x")).status == 401
    missing = dict(req.headers)
    del missing["X-WeftKit-Signature"]
    assert (await wkp.send(type(req)(req.method, req.path, req.query, missing), b"x")).status == 401
    tampered = await wkp.send(req, b"y")  # body differs from the signed digest
    assert tampered.status == 401
    assert (await wkp.restore()).status == 204


async def test_cursor_gap_is_409(wkp):
    assert (await wkp.persist(b"d", "delta", c(2), c(1), encoding=NONE)).status == 409
    await wkp.persist(b"F", "full", c(5), encoding=NONE)
    gap = await wkp.persist(b"d", "delta", c(9), c(6), encoding=NONE)
    assert gap.status == 409 and "gap" in gap.json()["reason"]
    behind = await wkp.persist(b"F", "full", c(4), encoding=NONE)
    assert behind.status == 409  # a writer behind the head is fenced


async def test_payload_over_limit_is_413_before_reading(make_function, http):
    server = await make_function(limits=Limits(max_payload=1000))
    wkp = WkpClient(http, str(server.make_url("")).rstrip("/"), SECRET)
    reply = await wkp.persist(b"x" * 1001, "full", c(1), encoding=NONE)
    assert reply.status == 413
    assert reply.headers["X-WeftKit-Max-Payload"] == "1000"
    assert (await wkp.persist(b"x" * 1000, "full", c(1), encoding=NONE)).status == 200


async def test_chunked_body_over_limit_is_413(make_function, http):
    server = await make_function(limits=Limits(max_payload=1000))
    wkp = WkpClient(http, str(server.make_url("")).rstrip("/"), SECRET)
    body = b"y" * 5000
    req = wkp.persist_request(body, "full", c(1), encoding=NONE)
    headers = {k: v for k, v in req.headers.items() if k != "Content-Length"}

    async def chunks():
        for i in range(0, len(body), 500):
            yield body[i:i + 500]
    async with http.post(wkp.endpoint + "/persist", data=chunks(), headers=headers) as resp:
        assert resp.status == 413
    assert (await wkp.restore()).status == 204


async def test_over_the_concurrency_limit_is_429_with_retry_after(make_function, http):
    server = await make_function(limits=Limits(max_inflight=1))
    wkp = WkpClient(http, str(server.make_url("")).rstrip("/"), SECRET)
    async with http.post(wkp.endpoint + "/_wkp/faults", json={"kind": "latency", "ms": 800, "count": 1}):
        pass
    slow = asyncio.create_task(wkp.health())
    await asyncio.sleep(0.3)
    throttled = await wkp.health()
    assert throttled.status == 429 and throttled.headers["Retry-After"] == "1"
    assert (await slow).status == 200


def _dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_store_unreachable_is_5xx_and_health_fails(make_function, http, moto):
    server = await make_function()
    wkp = WkpClient(http, str(server.make_url("")).rstrip("/"), SECRET)
    assert (await wkp.health()).status == 200
    async with http.post(wkp.endpoint + "/_wkp/faults", json={"kind": "store_outage"}):
        pass
    assert (await wkp.health()).status == 503
    assert (await wkp.persist(b"F", "full", c(1), encoding=NONE)).status == 503
    assert (await wkp.restore()).status == 503
    async with http.delete(wkp.endpoint + "/_wkp/faults"):
        pass
    assert (await wkp.persist(b"F", "full", c(1), encoding=NONE)).status == 200


async def test_a_store_that_is_really_down_gives_503(moto, http):
    """Point a function at a port nobody listens on: real connection refusals."""
    from aiohttp.test_utils import TestServer
    from emulator.function.app import create_app
    from emulator.function.config import FunctionConfig
    cfg = FunctionConfig(secret=SECRET, s3_endpoint=f"http://127.0.0.1:{_dead_port()}",
                         bucket="nowhere", create_bucket=False)
    server = TestServer(create_app(cfg), host="127.0.0.1")
    await server.start_server(auto_decompress=False)
    try:
        wkp = WkpClient(http, str(server.make_url("")).rstrip("/"), SECRET)
        assert (await wkp.health()).status == 503
        reply = await wkp.persist(b"F", "full", c(1), encoding=NONE)
        assert reply.status == 503 and "unavailable" in reply.json()["reason"]
    finally:
        await server.close()


async def test_async_mode_answers_202_and_stores(make_function, http):
    server = await make_function(async_storage=True)
    wkp = WkpClient(http, str(server.make_url("")).rstrip("/"), SECRET)
    assert (await wkp.persist(b"F", "full", c(1), encoding=NONE)).status == 202
    assert (await wkp.persist(b"d", "delta", c(2), c(1), encoding=NONE)).status == 202
    for _ in range(50):
        got = await wkp.restore()
        if got.status == 200 and got.body == b"Fd":
            break
        await asyncio.sleep(0.1)
    assert got.body == b"Fd"


async def test_retried_push_stores_nothing_twice_and_answers_the_same(wkp):
    req = wkp.persist_request(b"F", "full", c(1), encoding=NONE)
    first = await wkp.send(req, b"F")
    await asyncio.sleep(1.1)  # a later answer would carry a later stored_at
    again = await wkp.send(req, b"F")
    assert (first.status, first.body) == (again.status, again.body)
    d1 = wkp.persist_request(b"d1", "delta", c(2), c(1), encoding=NONE)
    assert (await wkp.send(d1, b"d1")).status == 200
    assert (await wkp.persist(b"d2", "delta", c(3), c(2), encoding=NONE)).status == 200
    # a retry of a push older than the head is a duplicate, not a gap
    late = await wkp.send(d1, b"d1")
    assert late.status == 200 and late.json()["cursor"] == "wkc_0000_0002"
    assert (await wkp.restore()).body == b"Fd1d2"


async def test_health_is_signed(wkp, http):
    assert (await wkp.health()).status == 200
    async with http.get(wkp.endpoint + "/health", headers={"X-WeftKit-Protocol": "v1",
                                                           "X-WeftKit-Timestamp": "1"}) as resp:
        assert resp.status == 401


async def test_injected_faults_answer_their_status(wkp, http):
    async with http.post(wkp.endpoint + "/_wkp/faults",
                         json={"kind": "error", "status": 429, "retry_after": 7, "count": 1}) as r:
        assert r.status == 201
    reply = await wkp.persist(b"F", "full", c(1), encoding=NONE)
    assert reply.status == 429 and reply.headers["Retry-After"] == "7"
    assert (await wkp.persist(b"F", "full", c(1), encoding=NONE)).status == 200  # count expired
    async with http.post(wkp.endpoint + "/_wkp/faults", json={"kind": "nonsense"}) as r:
        assert r.status == 400 and "kind" in (await r.json())["reason"]
