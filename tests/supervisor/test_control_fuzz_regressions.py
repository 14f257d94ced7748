"""Requests the generated-request campaign (bench/fuzz_campaign.py) found answered
with 500 or a broken stream by the control API: each is a 400 now.

Every one is refused while parsing, before the supervisor is consulted, so the
app runs here with no supervisor behind it: a request that got past parsing
would fail loudly (500) and the test with it.
"""
import pytest
from aiohttp.test_utils import TestClient, TestServer

from emulator.api.app import create_app


@pytest.fixture
async def control():
    client = TestClient(TestServer(create_app(supervisor=None), host="127.0.0.1"))
    await client.start_server()
    yield client
    await client.close()


@pytest.mark.parametrize("path,body", [
    ("/v1/fleet/vector/recycle", b"-2.0722146941642924e+32"),  # JSON, but not an object
    ("/v1/fleet/vector/scale", b"[1]"),
    ("/v1/fleet/vector/scale", b'{"replicas": ' + b"1" * 5000 + b"}"),  # int() refuses 4300+ digits
    ("/v1/faults", b"\xa5\x1a\x89\xd0\x14J"),                    # not UTF-8
    ("/v1/faults", b'"function"'),
    ("/v1/faults", b'{"target": "function", "kind": 5}'),         # kind not a string
    ("/v1/faults", b'{"target": "engine", "engine": ["vector-1"], "clock_skew_s": 1}'),
])
async def test_bad_bodies_are_400(control, path, body):
    resp = await control.post(path, data=body, headers={"Content-Type": "application/json"})
    assert resp.status == 400, await resp.text()
    assert "error" in await resp.json()


@pytest.mark.parametrize("since", ["abc", "-1", "1.5", "\u0663", "9" * 40])
async def test_a_bad_since_is_400_before_the_stream_starts(control, since):
    resp = await control.get("/v1/events", params={"since": since, "once": "1"})
    assert resp.status == 400
    assert "since" in (await resp.json())["error"]
