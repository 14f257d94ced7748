"""The object-store contract (emulator/store/interface.py), run against every
backend the function can hold: S3Store on a real moto server, the same
store behind FaultyStore with no fault set (the function always wraps it), and
the in-memory store the simulator runs the function's rules over."""
from __future__ import annotations

import os
import socket
import uuid

import pytest

from emulator.function.faults import Fault, FaultTable
from emulator.function.faulty_store import FaultyStore
from emulator.store.interface import NotFound, PreconditionFailed, StoreUnavailable
from emulator.store.memory import MemoryStore, VirtualObject
from emulator.store.moto_server import EmbeddedS3
from emulator.store.raw_get import open_raw_get, parse_response_head
from emulator.store.raw_put import RawPut
from emulator.store.s3 import S3Store
from emulator.store.sigv4 import SigV4Signer

MiB = 1024 * 1024


@pytest.fixture(scope="module")
def moto():
    with EmbeddedS3() as s3:
        yield s3


@pytest.fixture(params=["s3", "s3-behind-faulty-store", "memory"])
async def store(request):
    if request.param == "memory":
        yield MemoryStore()
        return
    moto = request.getfixturevalue("moto")
    s3 = S3Store(moto.endpoint, f"c-{uuid.uuid4().hex[:12]}", part_size=5 * MiB)
    await s3.open()
    await s3.ensure_bucket()
    yield s3 if request.param == "s3" else FaultyStore(s3, FaultTable(seed=1))
    await s3.close()


async def chunks(*pieces):
    for piece in pieces:
        yield piece


async def read_stream(store, key, chunk_size=64 * 1024) -> bytes:
    return b"".join([c async for c in store.stream(key, chunk_size)])


async def test_put_get_head_and_metadata(store):
    info = await store.put("a/one", b"payload", {"cursor": "wkc_0000_0001"})
    assert info.size == 7 and info.etag
    assert await store.get("a/one") == b"payload"
    head = await store.head("a/one")
    assert (head.size, head.etag, head.metadata) == (7, info.etag, {"cursor": "wkc_0000_0001"})
    assert await store.head("a/none") is None
    with pytest.raises(NotFound):
        await store.get("a/none")


async def test_create_only_put_refuses_an_existing_key(store):
    await store.put("lease", b"first", if_absent=True)
    with pytest.raises(PreconditionFailed):
        await store.put("lease", b"second", if_absent=True)
    assert await store.get("lease") == b"first"


async def test_listing_is_in_key_order_and_scoped_to_the_prefix(store):
    for key in ("p/b", "p/a", "p/c/d", "q/a"):
        await store.put(key, key.encode())
    assert [i.key for i in await store.list("p/")] == ["p/a", "p/b", "p/c/d"]


async def test_streams_both_ways_including_multipart(store):
    big = os.urandom(11 * MiB + 123)  # three parts of 5 MiB
    info = await store.put_stream("big", chunks(big[:MiB], big[MiB:]))
    assert info.size == len(big)
    assert await read_stream(store, "big") == big
    small = await store.put_stream("small", chunks(b"ab", b"cd"))
    assert small.size == 4 and await store.get("small") == b"abcd"


async def test_a_failed_stream_leaves_nothing(store):
    async def failing():
        yield os.urandom(6 * MiB)  # past the first part: a multipart upload is open
        raise RuntimeError("client went away")
    with pytest.raises(RuntimeError):
        await store.put_stream("half", failing())
    assert await store.head("half") is None and await store.list("half") == []


async def test_delete_and_delete_prefix(store):
    for key in ("d/1", "d/2", "e/1"):
        await store.put(key, b"x")
    await store.delete("d/1")
    await store.delete("d/missing")  # absent is fine
    assert await store.delete_prefix("d/") == 1
    assert [i.key for i in await store.list("")] == ["e/1"]


async def test_raw_get_leaves_the_body_in_the_socket(store):
    if isinstance(store, MemoryStore):
        assert not store.raw_capable  # restores read it through stream()
        return
    body = os.urandom(3 * MiB)
    await store.put_stream("raw", chunks(body))
    assert store.raw_capable
    raw = await store.open_raw("raw")
    try:
        assert raw.length == len(body)
        rest, sock = bytearray(raw.head_bytes), raw.sock
        sock.setblocking(True)
        while len(rest) < raw.length:
            rest += sock.recv(MiB)
        assert bytes(rest) == body
    finally:
        raw.close()
    with pytest.raises(NotFound):
        await store.open_raw("absent")


async def test_raw_put_stores_what_the_sdk_reads_back(moto):
    """The hand-signed PutObject (raw_put.py) on its own, read back through the
    SDK: bytes, metadata and an ETag that is the body's MD5, as S3 defines it."""
    import hashlib
    s3 = await S3Store(moto.endpoint, f"c-{uuid.uuid4().hex[:12]}").open()
    await s3.ensure_bucket()
    raw = RawPut(moto.endpoint, s3.bucket, SigV4Signer("wkp-emu", "wkp-emu", "us-east-1"), 5)
    try:
        for key, body in (("weftkit/t/e/i/delta/a.zst", os.urandom(4096)),
                          ("odd key/ünï+code", b""), ("big", os.urandom(3 * MiB))):
            etag = await raw.put(key, body, {"wkp-checksum": "sha256=1", "wkp-status": "200"})
            assert etag == hashlib.md5(body).hexdigest(), key
            assert await s3.get(key) == body
            assert (await s3.head(key)).metadata == {"wkp-checksum": "sha256=1", "wkp-status": "200"}
        gone = RawPut(moto.endpoint, "no-such-bucket-here", SigV4Signer("a", "b", "us-east-1"), 5)
        assert await gone.put("k", b"v", {}) is None  # not a 200: the caller asks the SDK
    finally:
        await s3.close()


async def test_an_unreachable_store_is_unavailable_not_a_crash(moto):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again at once: nothing listens there
    with pytest.raises(StoreUnavailable):
        await open_raw_get(f"http://127.0.0.1:{port}/b/k", "k", timeout_s=2)
    gone = S3Store(f"http://127.0.0.1:{port}", "b", timeout_s=1)
    await gone.open()
    try:
        with pytest.raises(StoreUnavailable):
            await gone.ping()
        with pytest.raises(StoreUnavailable):  # the raw PUT fails over to the SDK, which maps it
            await gone.put("k", b"v", {"wkp-status": "200"})
    finally:
        await gone.close()


async def test_injected_store_outage_fails_every_call_until_cleared(moto):
    s3 = await S3Store(moto.endpoint, f"c-{uuid.uuid4().hex[:12]}").open()
    await s3.ensure_bucket()
    faults = FaultTable(seed=1)
    store = FaultyStore(s3, faults)
    try:
        await store.put("k", b"v")
        faults.add(Fault(kind="store_outage"))
        for call in (store.get("k"), store.open_raw("k"), store.list("")):
            with pytest.raises(StoreUnavailable):
                await call
        faults.clear()
        assert await store.get("k") == b"v"
    finally:
        await s3.close()


def test_the_memory_store_counts_calls_and_keeps_virtual_objects_as_sizes():
    clock = iter(range(100, 200))
    store = MemoryStore(clock=lambda: float(next(clock)))
    store.put_virtual("weftkit/t/e/i/full/a.zst", 5000, {"wkp-status": "200"})
    store.put_now("weftkit/t/e/i/claim.json", b"{}")
    store.put_now("weftkit/t/e/j/claim.json", b"{}")
    assert [i.key for i in store.list_now("weftkit/t/e/i/")] == ["weftkit/t/e/i/claim.json",
                                                               "weftkit/t/e/i/full/a.zst"]
    assert [i.key for i in store.list_now("weftkit/t/e/")][-1] == "weftkit/t/e/j/claim.json"
    info = store.head_now("weftkit/t/e/i/full/a.zst")
    assert (info.size, info.last_modified, info.metadata) == (5000, 100.0, {"wkp-status": "200"})
    with pytest.raises(VirtualObject):
        store.get_now("weftkit/t/e/i/full/a.zst")
    assert store.bytes_stored == 5004
    assert store.delete_prefix_now("weftkit/t/e/i/") == 2 and store.bytes_stored == 2
    assert store.calls["PUT"] == 3 and store.calls["DELETE"] == 2 and store.calls["LIST"] == 3


def test_response_heads_parse_or_fail_clearly():
    status, headers = parse_response_head(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A:  b ")
    assert status == 200 and headers == {"content-length": "5", "x-a": "b"}
    with pytest.raises(StoreUnavailable, match="malformed status line"):
        parse_response_head(b"SSH-2.0-OpenSSH\r\n")
