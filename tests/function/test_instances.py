"""Function instances (seed 002) on the real function: real HTTP, real moto, real directories.

Warm reuse, cold starts with their delay, reaping after the keep-alive, 429 at
the instance limit, steering, each instance's own warm state and /tmp, and
the counters in /_wkp/metrics and /_wkp/instances.
"""
from __future__ import annotations

import asyncio
import os
import time

import pytest

from emulator.function.config import InstanceSettings
from emulator.function.instances import COLD_HEADER, INSTANCE_HEADER
from emulator.protocol.codec import Encoding
from emulator.protocol.cursor import Cursor
from tests.support.wkp_client import WkpClient

from .conftest import SECRET


async def eventually(check, timeout=5.0):
    deadline = time.monotonic() + timeout
    while True:
        result = await check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {timeout} s: {check.__name__}")
        await asyncio.sleep(0.02)


async def client(make_function, http, **settings):
    instances_dir = settings.pop("instances_dir", None)
    server = await make_function(instances=InstanceSettings(**settings), instances_dir=instances_dir)
    wkp = WkpClient(http, str(server.make_url("")).rstrip("/"), SECRET)
    return server, wkp


async def view(http, wkp) -> dict:
    async with http.get(wkp.endpoint + "/_wkp/instances") as r:
        return await r.json()


async def steered_persist(wkp, body, kind, to, frm=None, steer=None, **kw):
    request = wkp.persist_request(body, kind, to, frm, **kw)
    return await wkp.send(request, body, headers={INSTANCE_HEADER: steer} if steer else None)


async def steered_restore(wkp, steer):
    from emulator.protocol import signed_requests as sr
    req = sr.restore_request(secret=wkp.secret, now=int(wkp.clock()), request_id=wkp.request_id(),
                             engine=wkp.engine, tenant=wkp.tenant, instance_id=wkp.instance_id)
    return await wkp.send(req, headers={INSTANCE_HEADER: steer})


BODY = Encoding.ZSTD.compress(b"page" * 4000)


async def test_by_default_one_instance_serves_every_request_as_before(make_function, http):
    server = await make_function()
    wkp = WkpClient(http, str(server.make_url("")).rstrip("/"), SECRET)
    replies = await asyncio.gather(*(wkp.health() for _ in range(20)))
    assert {r.status for r in replies} == {200}
    assert {r.headers[INSTANCE_HEADER] for r in replies} == {"i-1"}
    assert sum(COLD_HEADER in r.headers for r in replies) == 1
    v = await view(http, wkp)
    assert (v["live"], v["cold_starts"], v["warm_hits"], v["throttles"]) == (1, 1, 19, 0)
    assert v["settings"]["keep_alive_s"] is None and v["settings"]["instance_concurrency"] == 256


async def test_a_warm_instance_is_reused_and_a_busy_one_makes_a_cold_start(make_function, http):
    _, wkp = await client(make_function, http, instances_max=3, instance_concurrency=1, cold_start_ms=300)
    started = time.monotonic()
    first = await wkp.health()
    assert first.headers[INSTANCE_HEADER] == "i-1" and first.headers[COLD_HEADER] == "1"
    assert time.monotonic() - started >= 0.3            # the cold start's delay
    started = time.monotonic()
    again = await wkp.health()
    assert again.headers[INSTANCE_HEADER] == "i-1" and COLD_HEADER not in again.headers
    assert time.monotonic() - started < 0.3             # warm: no delay
    both = await asyncio.gather(wkp.health(), wkp.health())  # one is busy starting: another starts
    assert sorted(r.headers[INSTANCE_HEADER] for r in both) == ["i-1", "i-2"]


async def test_at_the_instance_limit_every_busy_instance_means_429_with_retry_after(make_function, http):
    _, wkp = await client(make_function, http, instances_max=2, instance_concurrency=1,
                          cold_start_ms=400, retry_after_s=2)
    replies = await asyncio.gather(*(wkp.health() for _ in range(3)))
    statuses = sorted(r.status for r in replies)
    assert statuses == [200, 200, 429]
    throttled = next(r for r in replies if r.status == 429)
    assert throttled.headers["Retry-After"] == "2" and throttled.json()["error"] == "Throttled"
    v = await view(http, wkp)
    assert (v["cold_starts"], v["throttles"], v["live"]) == (2, 1, 2)


async def test_an_idle_instance_is_reaped_after_the_keep_alive_with_its_tmp(make_function, http, tmp_path):
    root = tmp_path / "instances"
    _, wkp = await client(make_function, http, instances_max=2, instance_concurrency=1,
                          keep_alive_s=0.3, instances_dir=str(root))
    assert (await wkp.health()).headers[INSTANCE_HEADER] == "i-1"
    assert (root / "i-1").is_dir()
    (root / "i-1" / "kept.bin").write_bytes(b"x")      # what an instance leaves in its /tmp...
    assert (await wkp.health()).headers[INSTANCE_HEADER] == "i-1"
    assert (root / "i-1" / "kept.bin").exists()         # ...survives its next invocation

    async def reaped():
        v = await view(http, wkp)
        return v["live"] == 0 and v["reaped"] == 1
    await eventually(reaped)
    assert not (root / "i-1").exists()
    reply = await wkp.health()
    assert reply.headers[INSTANCE_HEADER] == "i-2" and reply.headers[COLD_HEADER] == "1"
    assert os.listdir(root) == ["i-2"]


async def test_each_instance_has_its_own_warm_state_and_the_chain_stays_right(make_function, http):
    """Pushes alternate between two instances, each with a stale warm head; a third that
    never saw a push restores everything."""
    _, wkp = await client(make_function, http, instances_max=4, instance_concurrency=1)
    bodies = [Encoding.ZSTD.compress(f"snapshot {n} ".encode() * 3000) for n in range(4)]
    a = await steered_persist(wkp, bodies[0], "full", Cursor(0, 1), steer="new")
    b = await steered_persist(wkp, bodies[1], "delta", Cursor(0, 2), Cursor(0, 1), steer="new")
    assert (a.status, b.status) == (200, 200)
    ia, ib = a.headers[INSTANCE_HEADER], b.headers[INSTANCE_HEADER]
    assert ia != ib
    c = await steered_persist(wkp, bodies[2], "delta", Cursor(0, 3), Cursor(0, 2), steer=ia)
    d = await steered_persist(wkp, bodies[3], "delta", Cursor(0, 4), Cursor(0, 3), steer=ib)
    assert (c.status, d.status) == (200, 200), (c.body, d.body)
    assert (c.headers[INSTANCE_HEADER], d.headers[INSTANCE_HEADER]) == (ia, ib)
    fresh = await steered_restore(wkp, "new")
    assert fresh.status == 200 and fresh.headers[INSTANCE_HEADER] not in (ia, ib)
    assert fresh.headers["X-WeftKit-Cursor"] == "wkc_0000_0004"
    assert fresh.body == b"".join(bodies)


async def test_a_retry_after_its_instance_was_reaped_is_still_a_duplicate(make_function, http):
    _, wkp = await client(make_function, http, instances_max=2, instance_concurrency=1)
    request = wkp.persist_request(BODY, "full", Cursor(0, 7), request_id="req-retry-1")
    first = await wkp.send(request, BODY)
    assert first.status == 200
    async with http.post(wkp.endpoint + "/_wkp/instances/reap") as r:
        assert (await r.json())["reaped"] == [first.headers[INSTANCE_HEADER]]
    retry = await wkp.send(wkp.persist_request(BODY, "full", Cursor(0, 7), request_id="req-retry-1"), BODY)
    assert retry.status == 200 and retry.headers[COLD_HEADER] == "1"
    assert retry.json()["cursor"] == first.json()["cursor"]
    assert retry.json()["stored_at"] == first.json()["stored_at"]   # the same object, not a second write


async def test_metrics_show_instances_in_json_and_prometheus(make_function, http):
    _, wkp = await client(make_function, http, instances_max=1, instance_concurrency=1, cold_start_ms=200)
    await asyncio.gather(wkp.health(), wkp.health())   # one served, one throttled
    await wkp.health()                                  # a warm hit
    async with http.get(wkp.endpoint + "/_wkp/metrics?format=json") as r:
        snap = await r.json()
    inst = snap["instances"]
    assert (inst["live"], inst["cold_starts"], inst["warm_hits"], inst["throttles"]) == (1, 1, 1, 1)
    assert snap["platform"]["profile"] is None
    assert snap["/health"]["requests"] == {"200": 2, "429": 1}
    async with http.get(wkp.endpoint + "/_wkp/metrics") as r:
        text = await r.text()
    for line in ("wkp_function_instances_live 1", "wkp_function_instance_cold_starts_total 1",
                 "wkp_function_instance_warm_hits_total 1", "wkp_function_instance_throttles_total 1"):
        assert line in text


async def test_reset_forgets_the_warm_state_of_every_instance(make_function, http):
    _, wkp = await client(make_function, http, instances_max=2, instance_concurrency=1)
    await asyncio.gather(wkp.health(), wkp.health())
    assert (await steered_persist(wkp, BODY, "full", Cursor(0, 1))).status == 200
    async with http.post(wkp.endpoint + "/_wkp/reset") as r:
        assert r.status == 200
    assert (await wkp.restore()).status == 204
    assert (await wkp.persist(BODY, "full", Cursor(0, 1))).status == 200


async def test_a_push_from_a_head_another_instance_moved_is_409_not_a_fork(make_function, http):
    """Instance A's warm head still says "the full"; B stored a delta since. A delta from the full's
    cursor looks right to A's warm head, but would fork the chain: A confirms against the store."""
    _, wkp = await client(make_function, http, instances_max=2, instance_concurrency=1)
    full = await steered_persist(wkp, BODY, "full", Cursor(0, 10), steer="new")
    a = full.headers[INSTANCE_HEADER]
    delta = await steered_persist(wkp, BODY + b"1", "delta", Cursor(0, 15), Cursor(0, 10), steer="new")
    assert delta.status == 200 and delta.headers[INSTANCE_HEADER] != a
    stale = await steered_persist(wkp, BODY + b"2", "delta", Cursor(0, 16), Cursor(0, 10), steer=a)
    assert stale.headers[INSTANCE_HEADER] == a
    assert stale.status == 409, stale.body
    restored = await wkp.restore()
    assert restored.headers["X-WeftKit-Cursor"] == "wkc_0000_0015"


async def test_a_push_from_a_head_overtaken_by_another_instance_s_full_is_409(make_function, http):
    _, wkp = await client(make_function, http, instances_max=2, instance_concurrency=1)
    first = await steered_persist(wkp, BODY, "full", Cursor(0, 10), steer="new")
    a = first.headers[INSTANCE_HEADER]
    newer = await steered_persist(wkp, BODY + b"f", "full", Cursor(0, 20), steer="new")
    assert newer.status == 200 and newer.headers[INSTANCE_HEADER] != a
    stale = await steered_persist(wkp, BODY + b"d", "delta", Cursor(0, 15), Cursor(0, 10), steer=a)
    assert (stale.headers[INSTANCE_HEADER], stale.status) == (a, 409)
    on_time = await steered_persist(wkp, BODY + b"e", "delta", Cursor(0, 25), Cursor(0, 20), steer=a)
    assert on_time.status == 200                      # A caught up with the store, and goes on
