"""The function's request metrics count what the client saw: a connection the
outage fault dropped is "dropped", never a 503 that was never sent."""
from __future__ import annotations

import aiohttp
import pytest

from emulator.protocol.codec import Encoding
from emulator.protocol.cursor import Cursor

N = 4
# The drops are of POSTs: aiohttp answers a dropped GET (an idempotent request)
# by silently sending it again, so its caller would see the retry's answer.
PERSIST = dict(body=b"F", kind="full", to=Cursor(0, 1), encoding=Encoding.NONE)


async def set_fault(http, wkp, **spec):
    async with http.post(wkp.endpoint + "/_wkp/faults", json=spec) as r:
        assert r.status == 201, await r.text()


async def metrics(http, wkp) -> tuple[dict, str]:
    async with http.get(wkp.endpoint + "/_wkp/metrics?format=json") as r:
        snapshot = await r.json()
    async with http.get(wkp.endpoint + "/_wkp/metrics") as r:
        return snapshot, await r.text()


async def test_dropped_connections_are_counted_as_dropped_not_503(wkp, http):
    await set_fault(http, wkp, kind="outage", count=N, paths=["/persist"])
    for _ in range(N):  # the client sees the connection close with no answer
        with pytest.raises(aiohttp.ClientError):
            await wkp.persist(**PERSIST)
    assert (await wkp.persist(**PERSIST)).status == 200

    snapshot, text = await metrics(http, wkp)
    assert snapshot["/persist"]["requests"] == {"200": 1, "dropped": N}
    assert snapshot["/persist"]["bytes_out"] > 0  # the 200's body, nothing for the drops
    assert f'wkp_function_requests_total{{path="/persist",status="dropped"}} {N}' in text
    assert 'status="503"' not in text


async def test_an_injected_503_is_still_counted_as_503(wkp, http):
    await set_fault(http, wkp, kind="error", status=503, count=2, paths=["/persist"])
    for _ in range(2):
        assert (await wkp.persist(**PERSIST)).status == 503
    await set_fault(http, wkp, kind="outage", count=1, paths=["/persist"])
    with pytest.raises(aiohttp.ClientError):
        await wkp.persist(**PERSIST)
    snapshot, text = await metrics(http, wkp)
    assert snapshot["/persist"]["requests"] == {"503": 2, "dropped": 1}
    assert 'path="/persist",status="503"} 2' in text and 'status="dropped"} 1' in text
