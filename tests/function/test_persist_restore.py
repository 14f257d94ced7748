"""Persist and restore through the real function, real HTTP, real moto."""
from __future__ import annotations

import hashlib
import os

import pytest

from emulator.protocol.codec import Encoding
from emulator.protocol.cursor import Cursor
from emulator.protocol.headers import Part
from tests.support.wkp_client import WkpClient

from .conftest import SECRET


def c(seq, epoch=0):
    return Cursor(epoch, seq)


def sha(body: bytes) -> str:
    return "sha256=" + hashlib.sha256(body).hexdigest()


async def test_nothing_stored_is_204(wkp):
    reply = await wkp.restore()
    assert reply.status == 204 and reply.body == b""


async def test_full_then_restore_returns_it_with_contract_headers(wkp):
    body = Encoding.ZSTD.compress(b"pages" * 5000)
    reply = await wkp.persist(body, "full", c(19))
    assert reply.status == 200
    assert reply.json()["cursor"] == "wkc_0000_0019"
    assert isinstance(reply.json()["stored_at"], int)
    got = await wkp.restore()
    assert got.status == 200 and got.body == body
    assert got.headers["X-WeftKit-Cursor"] == "wkc_0000_0019"
    assert got.headers["X-WeftKit-Checksum"] == sha(body)
    assert got.headers["X-WeftKit-Snapshot-Kind"] == "full"
    assert got.headers["Content-Encoding"] == "zstd"


@pytest.mark.parametrize("encoding", list(Encoding))
async def test_chain_restores_as_concatenation_that_decodes(wkp, encoding):
    pieces = [b"full-state:" + os.urandom(64) * 100] + [f"delta-{i};".encode() * 50 for i in range(3)]
    bodies = [encoding.compress(p) for p in pieces]
    assert (await wkp.persist(bodies[0], "full", c(10), encoding=encoding)).status == 200
    for i, body in enumerate(bodies[1:]):
        reply = await wkp.persist(body, "delta", c(20 + i * 10), c(10 + i * 10), encoding=encoding)
        assert reply.status == 200, reply.body
    got = await wkp.restore()
    assert got.status == 200
    assert got.body == b"".join(bodies)
    assert encoding.decompress(got.body) == b"".join(pieces)
    assert got.headers["X-WeftKit-Cursor"] == "wkc_0000_0040"
    assert got.headers["X-WeftKit-Deltas"] == "3"
    assert got.headers["X-WeftKit-Checksum"] == sha(got.body)
    assert got.headers["Content-Encoding"] == encoding.header


async def test_mixed_encodings_are_reencoded_into_the_fulls(wkp):
    pieces = [b"F" * 3000, b"d1" * 100, b"d2" * 100]
    encs = [Encoding.GZIP, Encoding.ZSTD, Encoding.NONE]
    await wkp.persist(encs[0].compress(pieces[0]), "full", c(1), encoding=encs[0])
    await wkp.persist(encs[1].compress(pieces[1]), "delta", c(2), c(1), encoding=encs[1])
    await wkp.persist(encs[2].compress(pieces[2]), "delta", c(3), c(2), encoding=encs[2])
    got = await wkp.restore()
    assert got.headers["Content-Encoding"] == "gzip"
    assert Encoding.GZIP.decompress(got.body) == b"".join(pieces)
    assert got.headers["X-WeftKit-Checksum"] == sha(got.body)


async def test_checksum_is_right_when_the_function_is_cold(make_function, http):
    """A restarted function has no warm chain digest: it must hash in a first pass."""
    first = await make_function()
    wkp = WkpClient(http, str(first.make_url("")).rstrip("/"), SECRET)
    await wkp.persist(Encoding.ZSTD.compress(b"a" * 1000), "full", c(1))
    await wkp.persist(Encoding.ZSTD.compress(b"b" * 1000), "delta", c(2), c(1))
    cold = await make_function(bucket=_bucket_of(first))
    wkp_cold = WkpClient(http, str(cold.make_url("")).rstrip("/"), SECRET, instance_id=wkp.instance_id)
    got = await wkp_cold.restore()
    assert got.status == 200 and got.headers["X-WeftKit-Checksum"] == sha(got.body)
    # and the cold function continues the chain (it relists to find the head)
    assert (await wkp_cold.persist(Encoding.ZSTD.compress(b"c"), "delta", c(3), c(2))).status == 200


def _bucket_of(server) -> str:
    from emulator.function.keys import CONFIG
    return server.app[CONFIG].bucket


async def test_point_in_time_and_full_only(wkp):
    await wkp.persist(b"F1", "full", c(1), encoding=Encoding.NONE)
    await wkp.persist(b"d2", "delta", c(2), c(1), encoding=Encoding.NONE)
    await wkp.persist(b"F3", "full", c(3), encoding=Encoding.NONE)
    await wkp.persist(b"d4", "delta", c(4), c(3), encoding=Encoding.NONE)
    assert (await wkp.restore()).body == b"F3d4"
    pit = await wkp.restore(up_to=c(2))
    assert pit.body == b"F1d2" and pit.headers["X-WeftKit-Cursor"] == "wkc_0000_0002"
    only = await wkp.restore(full_only=True)
    assert only.body == b"F3" and only.headers["X-WeftKit-Deltas"] == "0"


async def test_split_parts_are_invisible_until_complete(wkp):
    enc = Encoding.NONE
    await wkp.persist(b"base", "full", c(1), encoding=enc)
    big = b"0123456789" * 3
    parts = [big[:10], big[10:20], big[20:]]
    for i in (1, 3):
        reply = await wkp.persist(parts[i - 1], "delta", c(9), c(1), encoding=enc, part=Part(i, 3))
        assert reply.status == 200
    assert (await wkp.restore()).body == b"base"  # part 2 missing: not restorable yet
    assert (await wkp.persist(parts[1], "delta", c(9), c(1), encoding=enc, part=Part(2, 3))).status == 200
    got = await wkp.restore()
    assert got.body == b"base" + big and got.headers["X-WeftKit-Cursor"] == "wkc_0000_0009"
    # the head moved only once the split delta was complete
    assert (await wkp.persist(b"next", "delta", c(10), c(9), encoding=enc)).status == 200


async def test_instances_and_tenants_are_isolated(wkp, http):
    await wkp.persist(b"mine", "full", c(1), encoding=Encoding.NONE)
    other = WkpClient(http, wkp.endpoint, SECRET, tenant="other", instance_id=wkp.instance_id)
    assert (await other.restore()).status == 204
    sibling = WkpClient(http, wkp.endpoint, SECRET)
    assert (await sibling.restore()).status == 204


async def test_large_chain_streams_through_multipart(wkp):
    """A full bigger than one S3 part (8 MiB) goes multipart and restores intact."""
    full = os.urandom(9 * 1024 * 1024 + 123)
    assert (await wkp.persist(full, "full", c(1), encoding=Encoding.NONE)).status == 200
    got = await wkp.restore()
    assert got.status == 200 and got.body == full
    assert got.headers["X-WeftKit-Checksum"] == sha(full)


async def test_the_query_is_verified_as_sent_not_as_decoded(wkp):
    """A client that percent-encodes its query signs the raw bytes it sent."""
    import yarl
    from emulator.protocol.signing import sign_request
    await wkp.persist(b"F", "full", c(1), encoding=Encoding.NONE)
    query = "tenant=%64efault&engine=relational&cursor=&latest=true"  # %64 is "d"
    headers = {"X-WeftKit-Protocol": "v1", "X-WeftKit-Engine": "relational",
               "X-WeftKit-Instance-Id": wkp.instance_id, "X-WeftKit-Timestamp": str(int(wkp.clock())),
               "X-WeftKit-Request-Id": "raw-query-1"}
    headers["X-WeftKit-Signature"] = sign_request(
        SECRET, timestamp=headers["X-WeftKit-Timestamp"], request_id="raw-query-1",
        method="GET", path="/restore", query=query)
    url = yarl.URL(f"{wkp.endpoint}/restore?{query}", encoded=True)
    async with wkp.session.get(url, headers=headers) as resp:
        assert resp.status == 200 and await resp.read() == b"F"


async def test_objects_deleted_behind_the_function_make_restore_refuse_not_forget(function, http, moto):
    """Someone deletes the full by hand; the warm function still accepts the next delta
    (its cache owns the head), but restore must answer 409, never a silent 204."""
    import boto3
    from emulator.function.keys import CONFIG
    wkp = WkpClient(http, str(function.make_url("")).rstrip("/"), SECRET)
    await wkp.persist(b"F", "full", c(1), encoding=Encoding.NONE)
    s3 = boto3.client("s3", endpoint_url=moto.endpoint, region_name="us-east-1",
                      aws_access_key_id="x", aws_secret_access_key="x")
    bucket = function.app[CONFIG].bucket
    for obj in s3.list_objects_v2(Bucket=bucket)["Contents"]:
        s3.delete_object(Bucket=bucket, Key=obj["Key"])
    await wkp.persist(b"d", "delta", c(2), c(1), encoding=Encoding.NONE)
    got = await wkp.restore()
    assert got.status == 409 and got.json()["next_delta_from"] == "wkc_0000_0001"
