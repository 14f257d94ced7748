"""The kernel relay of restores (emulator/function/splice_relay.py) against the
streaming relay it replaces: same bytes, same headers, nothing left behind when
the client goes away midway. Real function, real moto, real sockets."""
from __future__ import annotations

import asyncio
import hashlib
import os
import socket

from emulator.function.keys import METRICS
from emulator.protocol import signed_requests as sr
from emulator.protocol.codec import Encoding
from emulator.protocol.cursor import Cursor
from emulator.protocol.headers import Part
from tests.support.wkp_client import WkpClient

from .conftest import SECRET

MiB = 1024 * 1024


def client(function, http, instance="i-splice") -> WkpClient:
    return WkpClient(http, str(function.make_url("")).rstrip("/"), SECRET, instance_id=instance)


async def push_chain(wkp: WkpClient, encoding=Encoding.NONE) -> bytes:
    """A full split in two parts (two objects) plus three deltas, bigger than
    the relay's pipe so that each object takes several splice rounds."""
    full = [os.urandom(3 * MiB + 17), os.urandom(2 * MiB)]
    for index, part in enumerate(full, 1):
        reply = await wkp.persist(part, "full", Cursor(0, 10), encoding=encoding, part=Part(index, 2))
        assert reply.status == 200, reply.body
    deltas = [encoding.compress(os.urandom(200_000) + b"d%d" % i) for i in range(3)]
    for i, body in enumerate(deltas):
        reply = await wkp.persist(body, "delta", Cursor(0, 11 + i), Cursor(0, 10 + i), encoding=encoding)
        assert reply.status == 200, reply.body
    return b"".join(full + deltas)


async def test_splice_and_stream_send_the_same_restore(make_function, http):
    spliced = await make_function(bucket="splice-vs-stream")
    streamed = await make_function(bucket="splice-vs-stream", splice=False)
    expected = await push_chain(client(spliced, http))
    a = await client(spliced, http).restore()
    b = await client(streamed, http).restore()
    assert a.status == b.status == 200
    assert a.body == b.body == expected
    for name in ("X-WeftKit-Cursor", "X-WeftKit-Checksum", "X-WeftKit-Deltas", "Content-Length"):
        assert a.headers[name] == b.headers[name], name
    assert a.headers["X-WeftKit-Checksum"] == "sha256=" + hashlib.sha256(expected).hexdigest()
    assert dict(spliced.app[METRICS].restore_relays) == {"splice": 1}
    assert dict(streamed.app[METRICS].restore_relays) == {"stream": 1}
    # spliced bytes count as bytes out although aiohttp never saw them
    assert spliced.app[METRICS].bytes_out["/restore"] >= len(expected)


async def test_mixed_encodings_take_the_streaming_relay(make_function, http):
    function = await make_function()
    wkp = client(function, http)
    full = Encoding.GZIP.compress(b"full" * 1000)
    delta = Encoding.ZSTD.compress(b"delta" * 1000)
    assert (await wkp.persist(full, "full", Cursor(0, 1), encoding=Encoding.GZIP)).status == 200
    assert (await wkp.persist(delta, "delta", Cursor(0, 2), Cursor(0, 1), encoding=Encoding.ZSTD)).status == 200
    got = await wkp.restore()
    assert Encoding.GZIP.decompress(got.body) == b"full" * 1000 + b"delta" * 1000
    assert dict(function.app[METRICS].restore_relays) == {"stream": 1}


async def test_objects_are_opened_ahead_within_a_byte_budget(moto):
    """OpenAhead on a real store: in chain order, the next object always open,
    more only while they fit the budget, and nothing left open at the end."""
    from emulator.function.restore import OpenAhead
    from emulator.store.s3 import S3Store
    from types import SimpleNamespace
    store = await S3Store(moto.endpoint, "open-ahead").open()
    await store.ensure_bucket()
    sizes = [5 * MiB, 1 * MiB, 1 * MiB, 1 * MiB, 1 * MiB, 4 * MiB, 1]
    objects = [SimpleNamespace(key=f"o/{i}", size=size) for i, size in enumerate(sizes)]
    for obj in objects:
        await store.put(obj.key, bytes([len(obj.key)]) * obj.size)
    ahead = OpenAhead(store, objects, ahead_bytes=3 * MiB)
    seen, windows = [], []
    try:
        for obj in objects:
            raw = await ahead.next()
            ahead.fill()
            seen.append(raw.length)
            window = ahead.opened_ahead
            windows.append(len(window))
            assert len(window) == 1 or sum(window) <= 3 * MiB, window
            assert window == sizes[len(seen):len(seen) + len(window)]  # in chain order
        assert seen == sizes and ahead.opened_ahead == []
        assert windows == [3, 3, 2, 1, 1, 1, 0]  # three small ones ahead at once, one big one
    finally:
        await ahead.close()
        await store.close()


async def test_a_chain_of_many_small_deltas_is_spliced_in_order(make_function, http):
    function = await make_function()
    wkp = client(function, http, "i-many-deltas")
    full = os.urandom(MiB + 3)
    assert (await wkp.persist(full, "full", Cursor(0, 1), encoding=Encoding.NONE)).status == 200
    deltas = [os.urandom(4096) + b"%d" % i for i in range(24)]
    for i, body in enumerate(deltas):
        reply = await wkp.persist(body, "delta", Cursor(0, 2 + i), Cursor(0, 1 + i), encoding=Encoding.NONE)
        assert reply.status == 200, reply.body
    got = await wkp.restore()
    assert got.status == 200 and got.body == full + b"".join(deltas)
    assert dict(function.app[METRICS].restore_relays) == {"splice": 1}


def fd_targets() -> dict:
    """Open descriptors that could be the relay's: pipes, sockets, files. Event
    loops' epoll descriptors (anon_inode) come and go with other tests' loops."""
    out = {}
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if not target.startswith("anon_inode:"):
            out[fd] = target
    return out


def open_fds() -> int:
    return len(fd_targets())


async def test_a_client_gone_midway_leaves_no_descriptor_and_no_harm(make_function, http):
    function = await make_function()
    wkp = client(function, http)
    expected = await push_chain(wkp)
    assert (await wkp.restore()).body == expected  # warm every pool first
    before, before_targets = open_fds(), fd_targets()
    req = sr.restore_request(secret=SECRET, now=int(wkp.clock()), request_id="gone-midway",
                             engine=wkp.engine, tenant=wkp.tenant, instance_id=wkp.instance_id)
    head = f"GET {req.target} HTTP/1.1\r\nHost: {function.host}:{function.port}\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in req.headers.items()) + "\r\n"
    loop = asyncio.get_running_loop()
    sock = socket.create_connection((function.host, function.port))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
    sock.setblocking(False)
    await loop.sock_sendall(sock, head.encode())
    got = b""
    while len(got) < 256 * 1024:
        got += await loop.sock_recv(sock, 64 * 1024)
    assert got.startswith(b"HTTP/1.1 200")
    sock.close()  # mid-body: the function's next splice meets a reset
    for _ in range(100):
        if open_fds() <= before:
            break
        await asyncio.sleep(0.05)
    new = {fd: t for fd, t in fd_targets().items() if before_targets.get(fd) != t}
    assert open_fds() <= before, f"the relay left a pipe, a dup or a store socket open: {new}"
    again = await wkp.restore()
    assert again.status == 200 and again.body == expected
