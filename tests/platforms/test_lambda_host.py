"""The local Lambda host: real runtime processes (awslambdaric and the streaming bootstrap),
the Runtime API over real HTTP, a Function URL front, on a real moto S3."""
from __future__ import annotations

import asyncio
import hashlib
import os
import random
import time

import aiohttp
import pytest

from emulator.platforms.lambda_host import function_url as url
from emulator.platforms.lambda_host.host import LambdaHost, LambdaHostSettings
from emulator.platforms.lambda_host.runtime_api import END
from emulator.protocol.codec import Encoding
from emulator.protocol.cursor import Cursor
from emulator.protocol.function_instances import COLD_HEADER, INSTANCE_HEADER
from emulator.protocol import signed_requests as sr
from emulator.protocol.headers import RestoreResponse
from tests.support.wkp_client import WkpClient

from .conftest import SECRET

TEST_HANDLERS = "tests.platforms.lambda_handlers"
MiB = 1024 * 1024


def wkp_env(bucket) -> dict:
    endpoint, name = bucket
    return {"WKP_BUCKET": name, "WEFTKIT_PERSIST_SECRET": SECRET, "AWS_ENDPOINT_URL_S3": endpoint,
            "AWS_ACCESS_KEY_ID": "wkp-emu", "AWS_SECRET_ACCESS_KEY": "wkp-emu",
            "WKP_MAX_PAYLOAD": str(4 * MiB)}


@pytest.fixture
async def http():
    async with aiohttp.ClientSession(auto_decompress=False) as session:
        yield session


@pytest.fixture
async def make_host():
    hosts = []

    async def make(env=None, **settings) -> LambdaHost:
        host = await LambdaHost(LambdaHostSettings(env=env or {}, **settings)).start()
        hosts.append(host)
        return host

    yield make
    for host in hosts:
        await host.stop()


async def until(condition, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not await condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


def zstd_body(size: int) -> bytes:
    """A valid zstd frame of about `size` bytes (random content does not compress)."""
    return Encoding.ZSTD.compress(random.Random(size).randbytes(size), level=1)


async def test_wkp_function_under_the_streaming_bootstrap(make_host, bucket, http):
    host = await make_host(wkp_env(bucket), runtime="bootstrap")
    wkp = WkpClient(http, host.endpoint, SECRET)
    full = zstd_body(200_000)
    first = await wkp.persist(full, "full", Cursor(1, 1))
    assert first.status == 200, first.body
    assert first.headers[INSTANCE_HEADER] == "i-1" and first.headers[COLD_HEADER] == "1"
    delta = Encoding.ZSTD.compress(b"delta")
    second = await wkp.persist(delta, "delta", Cursor(1, 2), Cursor(1, 1))
    assert second.status == 200 and COLD_HEADER not in second.headers  # warm reuse
    reply = await wkp.restore()
    assert reply.status == 200 and reply.body == full + delta
    meta = RestoreResponse.from_headers(reply.headers)
    assert meta.cursor == Cursor(1, 2) and meta.checksum == hashlib.sha256(reply.body).hexdigest()
    assert (await wkp.health()).status == 200
    assert host.counters.cold_starts == 1 and host.counters.warm_hits == 3


async def test_restore_over_6mb_streams_with_the_bootstrap_and_is_refused_buffered(make_host, bucket, http):
    streaming = await make_host(wkp_env(bucket), runtime="bootstrap")
    buffered = await make_host(wkp_env(bucket), runtime="awslambdaric")
    wkp = WkpClient(http, streaming.endpoint, SECRET)
    parts = [zstd_body(3_500_000) for _ in range(3)]  # each push fits; the chain is ~10 MB
    assert (await wkp.persist(parts[0], "full", Cursor(1, 1))).status == 200
    assert (await wkp.persist(parts[1], "delta", Cursor(1, 2), Cursor(1, 1))).status == 200
    assert (await wkp.persist(parts[2], "delta", Cursor(1, 3), Cursor(1, 2))).status == 200
    reply = await wkp.restore()
    assert reply.status == 200 and reply.body == b"".join(parts)
    assert RestoreResponse.from_headers(reply.headers).checksum == hashlib.sha256(reply.body).hexdigest()
    # the managed runtime's buffered answer is over 6 MB: the Runtime API refuses it, the URL 502s
    refused = await WkpClient(http, buffered.endpoint, SECRET, instance_id=wkp.instance_id).restore()
    assert refused.status == 502 and refused.body == b"Internal Server Error"
    assert buffered.counters.errors == 1


async def test_an_event_over_6mb_is_refused_before_the_function(make_host, bucket, http):
    host = await make_host(wkp_env(bucket), runtime="bootstrap")
    wkp = WkpClient(http, host.endpoint, SECRET)
    body = zstd_body(5 * MiB)  # 5 MiB of body is 6.7 MiB of base64 in the event
    reply = await wkp.persist(body, "full", Cursor(1, 1))
    assert reply.status == 413
    assert reply.json() == {"Message": "Request must be smaller than 6291456 bytes for the "
                                       "InvokeFunction operation"}
    assert host.counters.invocations == 0 and host.instances == {}
    bigger = await wkp.persist(zstd_body(7 * MiB), "full", Cursor(1, 1))  # the body alone is over
    assert bigger.status == 413 and bigger.json() == reply.json()
    # just over the function's own limit (4 MiB) reaches it: WKP-1's 413 naming the limit
    over = await wkp.persist(zstd_body(4 * MiB + 100), "full", Cursor(1, 1))
    assert over.status == 413 and over.headers["X-WeftKit-Max-Payload"] == str(4 * MiB)


async def test_runtime_api_headers_event_shape_and_instance_tmp(make_host, http):
    host = await make_host(runtime="awslambdaric", handler=f"{TEST_HANDLERS}.echo", timeout_s=30)
    replies = []
    for _ in range(2):
        async with http.post(host.endpoint + "/p/a?x=1&x=2&y=a%26b", data=b"\xff\x00",
                             headers={"X-Custom": "A", "Cookie": "c=1; d=2"}) as r:
            replies.append((r.status, dict(r.headers), await r.json()))
    (s1, h1, b1), (s2, h2, b2) = replies
    assert s1 == s2 == 200 and h1[COLD_HEADER] == "1" and COLD_HEADER not in h2
    event = b1["event"]
    assert event["version"] == "2.0" and event["rawPath"] == "/p/a" and event["rawQueryString"] == "x=1&x=2&y=a%26b"
    assert event["requestContext"]["http"]["method"] == "POST" and event["isBase64Encoded"] is True
    assert event["headers"]["x-custom"] == "A" and event["cookies"] == ["c=1", "d=2"]
    assert event["queryStringParameters"] == {"x": "1,2", "y": "a&b"}
    assert b1["arn"].endswith(":function:wkp-function") and 0 < b1["remaining_ms"] <= 30_000
    assert b1["request_id"] != b2["request_id"] and b1["request_id"] == event["requestContext"]["requestId"]
    assert (b1["tmp_calls"], b2["tmp_calls"], b1["pid"]) == (1, 2, b2["pid"])  # /tmp and memory survive


async def test_timeout_resets_the_instance_and_answers_502(make_host, http):
    host = await make_host(runtime="awslambdaric", handler=f"{TEST_HANDLERS}.sleep", timeout_s=1.0)
    started = time.monotonic()
    async with http.get(host.endpoint + "/?s=30") as r:
        assert r.status == 502 and await r.text() == "Internal Server Error"
    assert time.monotonic() - started < 5 and host.counters.timeouts == 1
    async with http.get(host.endpoint + "/?s=0") as r:  # same instance id, a new runtime: a cold start
        assert r.status == 200 and r.headers[INSTANCE_HEADER] == "i-1" and r.headers[COLD_HEADER] == "1"


async def test_throttle_at_the_instance_limit_then_reap_after_keep_alive(make_host, http):
    host = await make_host(runtime="awslambdaric", handler=f"{TEST_HANDLERS}.sleep", instances_max=1,
                           keep_alive_s=0.5, timeout_s=30)
    slow = asyncio.create_task(http.get(host.endpoint + "/?s=1.5"))
    await until(lambda: _inflight(host))
    async with http.get(host.endpoint + "/?s=0") as r:
        assert r.status == 429 and r.headers["Retry-After"] == "1"
    async with await slow as r:
        assert r.status == 200
    pid = host.instances["i-1"].process.pid

    async def reaped():
        return host.pool.counters.live == 0 and not host.instances and _gone(pid)

    await until(reaped)


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


async def _inflight(host):
    return host.pool.counters.inflight == 1 and "i-1" in host.instances and host.instances["i-1"].invocations


async def test_handler_error_init_error_and_plain_results(make_host, http):
    failing = await make_host(runtime="awslambdaric", handler=f"{TEST_HANDLERS}.fail")
    async with http.get(failing.endpoint + "/") as r:
        assert r.status == 502
    plain = await make_host(runtime="awslambdaric", handler=f"{TEST_HANDLERS}.plain")
    async with http.get(plain.endpoint + "/") as r:
        assert r.status == 200 and await r.json() == {"hello": "world"}
    no_bucket = await make_host(runtime="bootstrap", init_timeout_s=10)  # no WKP_BUCKET: /init/error
    async with http.get(no_bucket.endpoint + "/health") as r:
        assert r.status == 502
    assert no_bucket.counters.errors == 1 and no_bucket.instances == {}


async def test_steering_and_reaping_through_the_admin_surface(make_host, http):
    host = await make_host(runtime="awslambdaric", handler=f"{TEST_HANDLERS}.plain")
    async with http.get(host.endpoint + "/") as r:
        assert r.headers[INSTANCE_HEADER] == "i-1"
    async with http.get(host.endpoint + "/", headers={INSTANCE_HEADER: "new"}) as r:
        assert r.headers[INSTANCE_HEADER] == "i-2" and r.headers[COLD_HEADER] == "1"
    async with http.get(host.endpoint + "/", headers={INSTANCE_HEADER: "i-1"}) as r:
        assert r.headers[INSTANCE_HEADER] == "i-1" and COLD_HEADER not in r.headers
    async with http.get(host.endpoint + "/_wkp/instances") as r:
        view = await r.json()
        assert {i["id"] for i in view["instances"]} == {"i-1", "i-2"} and view["cold_starts"] == 2
    async with http.post(host.endpoint + "/_wkp/instances/reap") as r:
        assert sorted((await r.json())["reaped"]) == ["i-1", "i-2"]
    assert host.instances == {}


def test_function_url_reads_buffered_results_and_preludes():
    assert url.read_buffered(b'{"a": 1}') == url.UrlResponse(200, (("Content-Type", "application/json"),),
                                                             b'{"a": 1}')
    r = url.read_buffered(b'{"statusCode": 201, "headers": {"x": "1"}, "body": "aGk=", '
                          b'"isBase64Encoded": true, "cookies": ["k=v"]}')
    assert (r.status, r.headers, r.body) == (201, (("x", "1"), ("Set-Cookie", "k=v")), b"hi")
    with pytest.raises(url.BadResult):
        url.read_buffered(b'{"statusCode": "x"}')
    assert url.read_prelude(b'{"statusCode": 204, "headers": {"a": "b"}}') == (204, [("a", "b")])


async def test_a_stream_over_the_streamed_limit_is_cut(make_host, bucket, http):
    """Lambda cuts a streamed response at its maximum (200 MiB; 2 MiB here)."""
    host = await make_host(wkp_env(bucket), runtime="bootstrap", max_streamed_response_bytes=2 * MiB)
    wkp = WkpClient(http, host.endpoint, SECRET)
    assert (await wkp.persist(zstd_body(3 * MiB), "full", Cursor(1, 1))).status == 200
    with pytest.raises(aiohttp.ClientPayloadError):
        await wkp.restore()  # the head went out; the body stops short of its Content-Length


async def test_a_broken_stream_fails_the_invocation_not_a_short_success():
    """The bootstrap against the real Runtime API: a reply whose body fails midway
    (the store dying mid-restore) reaches the host as a broken stream."""
    from aiohttp import web

    from emulator.platforms.lambda_host.runtime_api import Invocation, RuntimeEndpoint, StreamBroken, Streamed
    from wkp_functions.aws_lambda.bootstrap import RuntimeApi, serve_one
    from emulator.protocol.errors import StoreUnavailable
    from wkp_functions.core import Reply

    class StoreDiesMidway:
        def handle(self, method, path, headers, body, query=""):
            def chunks():
                yield b"first bytes"
                raise OSError("the store went away")
            return Reply(200, {"Content-Length": "1000"}, chunks())

    class StoreDeadAtOnce:
        def handle(self, method, path, headers, body, query=""):
            def chunks():
                raise StoreUnavailable("the store is down")
                yield b""  # a generator
            return Reply(200, {"Content-Length": "1000"}, chunks())

    endpoint = RuntimeEndpoint(6 * MiB, 200 * MiB)
    runner = web.AppRunner(endpoint.app(), shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    address = "127.0.0.1:%d" % site._server.sockets[0].getsockname()[1]
    try:
        event = url.event_for(method="GET", path="/restore", query="", headers=[], body=b"",
                              request_id="r-1", url_id="u", account="0", source_ip="127.0.0.1")
        inv = Invocation("r-1", json_bytes(event), 0, "arn", "trace")
        await endpoint.queue.put(inv)
        served = asyncio.create_task(asyncio.to_thread(serve_one, RuntimeApi(address), StoreDiesMidway()))
        outcome = await asyncio.wait_for(inv.outcome, 10)
        assert isinstance(outcome, Streamed)
        items = []
        while not items or not isinstance(items[-1], Exception) and items[-1] is not END:
            items.append(await asyncio.wait_for(outcome.chunks.get(), 10))
        assert isinstance(items[-1], StreamBroken)
        assert b"first bytes" in b"".join(i for i in items if isinstance(i, bytes))
        await asyncio.wait_for(served, 10)

        # failing before the first byte: the status can still say so (503, not a cut 200)
        inv = Invocation("r-2", json_bytes(event), 0, "arn", "trace")
        await endpoint.queue.put(inv)
        served = asyncio.create_task(asyncio.to_thread(serve_one, RuntimeApi(address), StoreDeadAtOnce()))
        outcome = await asyncio.wait_for(inv.outcome, 10)
        body = bytearray()
        while (item := await asyncio.wait_for(outcome.chunks.get(), 10)) is not END:
            body += item
        prelude, _, rest = bytes(body).partition(url.PRELUDE_SEPARATOR)
        assert url.read_prelude(prelude)[0] == 503 and b"StoreUnavailable" in rest
        await asyncio.wait_for(served, 10)
    finally:
        await runner.cleanup()


def json_bytes(value) -> bytes:
    import json
    return json.dumps(value).encode()


async def test_paced_streams_run_at_the_rate_after_the_free_prefix(make_host, bucket, http):
    host = await make_host(wkp_env(bucket), runtime="bootstrap", stream_unthrottled_bytes=1 * MiB,
                           stream_rate_bytes_s=4 * MiB)
    wkp = WkpClient(http, host.endpoint, SECRET)
    body = zstd_body(3 * MiB)
    assert (await wkp.persist(body, "full", Cursor(1, 1))).status == 200
    started = time.monotonic()
    reply = await wkp.restore()
    elapsed = time.monotonic() - started
    assert reply.body == body
    assert elapsed >= (len(body) - MiB) / (4 * MiB) * 0.95  # 2 MiB past the prefix at 4 MiB/s


async def test_a_runtime_that_dies_mid_invocation_is_a_502_at_once(make_host, http):
    host = await make_host(runtime="awslambdaric", handler=f"{TEST_HANDLERS}.crash", timeout_s=60)
    started = time.monotonic()
    async with http.get(host.endpoint + "/") as r:
        assert r.status == 502
    assert time.monotonic() - started < 10 and host.counters.errors == 1  # not the 60 s timeout
    async with http.get(host.endpoint + "/") as r:  # a new runtime under the same instance
        assert r.status == 502 and r.headers[COLD_HEADER] == "1"


async def test_a_client_closing_mid_stream_is_no_error_and_the_instance_serves_on(make_host, bucket, http,
                                                                                  caplog):
    """A client going away during a streamed restore is normal: the host logs no traceback,
    lets the runtime finish, and the instance serves the next request warm."""
    host = await make_host(wkp_env(bucket), runtime="bootstrap", stream_unthrottled_bytes=256 * 1024,
                           stream_rate_bytes_s=2 * MiB)  # paced: the stream outlasts the client
    wkp = WkpClient(http, host.endpoint, SECRET)
    full = zstd_body(3_500_000)
    assert (await wkp.persist(full, "full", Cursor(1, 1))).status == 200
    request = sr.restore_request(secret=SECRET, now=int(time.time()), request_id="req-leaving",
                                 engine=wkp.engine, tenant=wkp.tenant, instance_id=wkp.instance_id)
    async with aiohttp.ClientSession(auto_decompress=False) as leaving:
        async with leaving.get(host.endpoint + request.target, headers=dict(request.headers)) as reply:
            assert reply.status == 200
            await reply.content.readexactly(64 * 1024)
            reply.close()  # the client goes away mid-stream
    await until(lambda: _async(host.pool.counters.inflight == 0))
    again = await wkp.restore()
    assert again.status == 200 and again.body == full
    assert again.headers[INSTANCE_HEADER] == "i-1" and COLD_HEADER not in again.headers
    await asyncio.sleep(0)  # anything the closed stream logs has been logged by now
    noisy = [r for r in caplog.records if r.exc_info or r.levelname in ("ERROR", "CRITICAL")]
    assert noisy == [], [r.getMessage() for r in noisy]


async def _async(value):
    return value
