"""A push cut off midway leaves nothing a restore would return."""
from __future__ import annotations

import asyncio
import os
import socket

import boto3

from emulator.function.keys import CONFIG
from emulator.protocol.codec import Encoding
from emulator.protocol.cursor import Cursor
from tests.support import processes
from tests.support.wkp_client import WkpClient

from .conftest import SECRET

NONE = Encoding.NONE
BIG = 10 * 1024 * 1024  # over one 8 MiB part: the multipart path


def _s3(moto):
    return boto3.client("s3", endpoint_url=moto.endpoint, region_name="us-east-1",
                        aws_access_key_id="wkp-emu", aws_secret_access_key="wkp-emu")


async def _send_half_then_vanish(endpoint: str, request, total: int, sent: int) -> None:
    """Raw socket: headers promising `total` bytes, `sent` of them, then close."""
    host, port = endpoint.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    head = [f"POST {request.target} HTTP/1.1", f"Host: {host}"]
    head += [f"{k}: {v}" for k, v in request.headers.items()]
    writer.write(("\r\n".join(head) + "\r\n\r\n").encode())
    chunk = b"z" * (1024 * 1024)
    for _ in range(sent // len(chunk)):
        writer.write(chunk)
        await writer.drain()
    await asyncio.sleep(0.5)  # let the function upload the first part
    writer.transport.abort()


async def test_client_gone_midway_leaves_nothing(function, http, moto):
    wkp = WkpClient(http, str(function.make_url("")).rstrip("/"), SECRET)
    await wkp.persist(b"base", "full", Cursor(0, 1), encoding=NONE)
    body = os.urandom(16)  # the digest does not matter: the body never completes
    req = wkp.persist_request(body, "full", Cursor(0, 9), encoding=NONE)
    req.headers["Content-Length"] = str(BIG)
    await _send_half_then_vanish(wkp.endpoint, req, BIG, 9 * 1024 * 1024)
    await asyncio.sleep(0.5)
    got = await wkp.restore()
    assert got.body == b"base" and got.headers["X-WeftKit-Cursor"] == "wkc_0000_0001"
    bucket = function.app[CONFIG].bucket
    uploads = _s3(moto).list_multipart_uploads(Bucket=bucket).get("Uploads", [])
    assert uploads == []  # aborted, not merely left incomplete


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_function_killed_midway_leaves_nothing(tmp_path, moto, http):
    bucket = "killed-midway"
    args = ["function", "--port", "0", "--secret", SECRET, "--s3-endpoint", moto.endpoint,
            "--bucket", bucket]
    fn = processes.start(args, tmp_path=tmp_path, name="fn1")
    try:
        wkp = WkpClient(http, fn.ready["endpoint"], SECRET)
        assert (await wkp.persist(b"base", "full", Cursor(0, 1), encoding=NONE)).status == 200
        req = wkp.persist_request(b"?", "full", Cursor(0, 9), encoding=NONE)
        req.headers["Content-Length"] = str(BIG)
        sender = asyncio.create_task(_send_half_then_vanish(wkp.endpoint, req, BIG, 9 * 1024 * 1024))
        await asyncio.sleep(1.0)
        fn.kill()  # SIGKILL while the body is in flight
        await asyncio.gather(sender, return_exceptions=True)
    finally:
        fn.kill()
    again = processes.start(args, tmp_path=tmp_path, name="fn2")
    try:
        wkp2 = WkpClient(http, again.ready["endpoint"], SECRET, instance_id=wkp.instance_id)
        got = await wkp2.restore()
        assert got.status == 200 and got.body == b"base"
        assert got.headers["X-WeftKit-Cursor"] == "wkc_0000_0001"
    finally:
        assert again.stop() == 0
