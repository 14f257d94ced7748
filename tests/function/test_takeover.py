"""The instance-id trap: lineage takeover and its guard."""
from __future__ import annotations

import asyncio

from emulator.protocol.codec import Encoding
from emulator.protocol.cursor import Cursor
from tests.support.wkp_client import WkpClient

from .conftest import SECRET

NONE = Encoding.NONE


def client(wkp, **kw):
    return WkpClient(wkp.session, wkp.endpoint, SECRET, **kw)


async def test_default_restore_of_a_new_instance_is_fresh(wkp):
    await wkp.persist(b"old-state", "full", Cursor(0, 5), encoding=NONE)
    assert (await client(wkp).restore()).status == 204


async def test_takeover_adopts_the_newest_lineage_once(wkp):
    old = client(wkp)
    await old.persist(b"older", "full", Cursor(0, 3), encoding=NONE)
    await asyncio.sleep(1.1)  # LastModified has one-second resolution
    await wkp.persist(b"newest", "full", Cursor(0, 5), encoding=NONE)
    await wkp.persist(b"+d", "delta", Cursor(0, 6), Cursor(0, 5), encoding=NONE)
    pod = client(wkp)
    got = await pod.restore(takeover=True)
    assert got.status == 200 and got.body == b"newest+d"
    assert got.headers["X-WeftKit-Lineage"] == wkp.instance_id
    assert got.headers["X-WeftKit-Cursor"] == "wkc_0000_0006"
    # a retry by the same pod gets the same lineage
    assert (await pod.restore(takeover=True)).headers["X-WeftKit-Lineage"] == wkp.instance_id
    # a second replica cannot adopt the same lineage: it gets the next one
    second = await client(wkp).restore(takeover=True)
    assert second.headers.get("X-WeftKit-Lineage") == old.instance_id
    assert (await client(wkp).restore(takeover=True)).status == 204


async def test_racing_replicas_never_share_a_lineage(wkp):
    await wkp.persist(b"only", "full", Cursor(0, 1), encoding=NONE)
    replies = await asyncio.gather(*(client(wkp).restore(takeover=True) for _ in range(6)))
    assert sorted(r.status for r in replies) == [200] + [204] * 5


async def test_a_claimant_that_never_pushed_frees_the_lineage_after_the_lease(make_function, http):
    server = await make_function(takeover_lease_s=1.0)
    wkp = WkpClient(http, str(server.make_url("")).rstrip("/"), SECRET)
    await wkp.persist(b"state", "full", Cursor(0, 1), encoding=NONE)
    crashed = client(wkp)
    assert (await crashed.restore(takeover=True)).status == 200
    assert (await client(wkp).restore(takeover=True)).status == 204  # lease still binding
    await asyncio.sleep(1.2)
    got = await client(wkp).restore(takeover=True)
    assert got.status == 200 and got.body == b"state"


async def test_a_claimant_that_pushed_keeps_its_claim_and_leads(make_function, http):
    server = await make_function(takeover_lease_s=0.5)
    wkp = WkpClient(http, str(server.make_url("")).rstrip("/"), SECRET)
    await wkp.persist(b"gen0", "full", Cursor(0, 1), encoding=NONE)
    heir = client(wkp)
    assert (await heir.restore(takeover=True)).status == 200
    await asyncio.sleep(1.1)
    await heir.persist(b"gen1", "full", Cursor(1, 1), encoding=NONE)  # epoch bumped
    await asyncio.sleep(0.6)
    got = await client(wkp).restore(takeover=True)
    assert got.headers["X-WeftKit-Lineage"] == heir.instance_id and got.body == b"gen1"
