"""A function profile's platform limits, live: request size (413), response cap (cut), streamed
rate after the unthrottled prefix, timeout (502). Real HTTP and moto; small numbers keep it fast."""
from __future__ import annotations

import os
import time

import aiohttp
import pytest

from emulator.function.config import PlatformLimits, apply_profile
from emulator.platforms.profiles import MiB
from emulator.protocol.codec import Encoding
from emulator.protocol.cursor import Cursor
from emulator.protocol.function_rules import Limits
from tests.support.wkp_client import WkpClient

from .conftest import SECRET


async def client(make_function, http, **overrides):
    server = await make_function(**overrides)
    return WkpClient(http, str(server.make_url("")).rstrip("/"), SECRET)


async def test_the_lambda_url_profile_lowers_max_payload_to_6_mib_and_413_names_it(make_function, http):
    limits, instances, platform = apply_profile("lambda-url", limits=Limits())
    assert limits.max_payload == 6 * MiB and platform.timeout_s == 900
    assert (instances.instances_max, instances.instance_concurrency) == (1000, 1)
    wkp = await client(make_function, http, limits=limits, instances=instances, platform=platform)
    body = os.urandom(6 * MiB + 1)
    reply = await wkp.persist(body, "full", Cursor(0, 1), encoding=Encoding.ZSTD)
    assert reply.status == 413 and reply.headers["X-WeftKit-Max-Payload"] == str(6 * MiB)
    assert (await wkp.persist(body[:MiB], "full", Cursor(0, 1))).status == 200


def test_explicit_settings_win_over_the_profile_and_no_profile_is_today_s_function():
    limits, instances, platform = apply_profile("azure", limits=Limits(max_payload=MiB),
                                                instances={"instances_max": 3, "keep_alive_s": None},
                                                timeout_s=4.0)
    assert limits.max_payload == MiB                      # a profile never raises max_payload
    assert instances.instances_max == 3 and instances.keep_alive_s == 1200.0
    assert platform.timeout_s == 4.0 and platform.profile == "azure"
    limits, instances, platform = apply_profile(None, limits=Limits())
    assert (instances.instances_max, instances.keep_alive_s, instances.cold_start_ms) == (4, None, 0)
    assert platform == PlatformLimits() and not platform.paces


async def test_a_streamed_restore_leaves_at_the_platform_rate_after_the_prefix(make_function, http):
    platform = PlatformLimits(stream_unthrottled_bytes=MiB, stream_rate_bytes_s=4 * MiB)
    wkp = await client(make_function, http, platform=platform)
    body = os.urandom(3 * MiB)
    assert (await wkp.persist(body, "full", Cursor(0, 1))).status == 200
    started = time.monotonic()
    reply = await wkp.restore()
    elapsed = time.monotonic() - started
    assert reply.status == 200 and reply.body == body
    assert elapsed >= 0.5                                  # (3 MiB - 1 MiB) at 4 MiB/s


async def test_a_response_over_the_platform_maximum_is_cut(make_function, http):
    wkp = await client(make_function, http, platform=PlatformLimits(max_response_bytes=MiB))
    body = os.urandom(2 * MiB)
    assert (await wkp.persist(body, "full", Cursor(0, 1))).status == 200
    with pytest.raises(aiohttp.ClientPayloadError):
        await wkp.restore()                                 # Content-Length promised 2 MiB
    async with http.get(wkp.endpoint + "/_wkp/metrics?format=json") as r:
        assert (await r.json())["/restore"]["requests"] == {"dropped": 1}


async def test_a_request_past_the_platform_timeout_gets_502(make_function, http):
    wkp = await client(make_function, http, platform=PlatformLimits(profile="azure", timeout_s=0.3))
    async with http.post(wkp.endpoint + "/_wkp/faults",
                         json={"kind": "store_latency", "ms": 800, "count": 1}) as r:
        assert r.status == 201
    reply = await wkp.persist(os.urandom(1000), "full", Cursor(0, 1))
    assert reply.status == 502
    assert reply.json()["error"] == "PlatformTimeout" and "0.3 s" in reply.json()["reason"]
    assert (await wkp.health()).status == 200              # the next request is served as usual


async def test_the_function_view_carries_the_profile_and_its_fit_report(make_function, http):
    limits, instances, platform = apply_profile("lambda-url", limits=Limits())
    wkp = await client(make_function, http, limits=limits, instances=instances, platform=platform)
    async with http.get(wkp.endpoint + "/_wkp/metrics?format=json") as r:
        view = (await r.json())["platform"]
    assert view["profile"] == "lambda-url" and view["max_payload"] == 6 * MiB
    assert any("must be split into 17 parts" in line for line in view["fit"])


async def test_a_stream_still_running_at_the_timeout_is_cut(make_function, http):
    platform = PlatformLimits(stream_unthrottled_bytes=0, stream_rate_bytes_s=MiB, timeout_s=0.5)
    wkp = await client(make_function, http, platform=platform)
    assert (await wkp.persist(os.urandom(2 * MiB), "full", Cursor(0, 1))).status == 200
    with pytest.raises(aiohttp.ClientPayloadError):
        await wkp.restore()                                 # 2 MiB at 1 MiB/s outlasts 0.5 s
    async with http.get(wkp.endpoint + "/_wkp/metrics?format=json") as r:
        assert (await r.json())["/restore"]["requests"] == {"dropped": 1}


async def test_read_ahead_ends_when_its_reader_stops_early_with_a_full_queue():
    """A cut or timed-out restore stops reading; the producer, blocked on a full queue,
    must end when cancelled (it once handed its cancellation to the queue and waited)."""
    import asyncio

    from emulator.function.restore import read_ahead

    async def chunks():
        for _ in range(100):
            yield b"x"
    reader = read_ahead(chunks(), depth=2)
    assert await reader.__anext__() == b"x"
    for _ in range(10):  # let the producer fill the queue and block on it
        await asyncio.sleep(0)
    await asyncio.wait_for(reader.aclose(), 5)
