"""A GET of one object on a socket of its own, headers parsed, body left unread.

Why: a restore relays gigabytes from the store to the engine unchanged. Read
through an HTTP client, every byte crosses into Python and back out; with the
body still in the kernel's socket, the function can splice it straight to the
engine's socket (emulator/function/splice_relay.py) and spend almost no CPU.
Only plain-http endpoints (moto on loopback, MinIO in a compose file) qualify;
a TLS store is read the ordinary way.

The URL is presigned by the S3 client, so the request is authenticated like any
other; this module only speaks HTTP/1.1 for one request and one response.
"""
from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from .interface import NotFound, StoreUnavailable

MAX_HEAD = 64 * 1024  # an S3 response head is a few hundred bytes
# Receive buffer of a raw GET's socket. Why set it: the relay is one of three
# processes (store, function, engine) sharing a few cores; while it waits for
# a CPU, the store keeps sending into this buffer instead of stalling. Set
# before connecting, so the TCP window can grow to it (the kernel caps it at
# net.core.rmem_max, and doubles it for its own bookkeeping).
RELAY_RCVBUF = 4 * 1024 * 1024


@dataclass
class RawObject:
    """An open response: `head_bytes` of the body were read with the headers,
    `length - len(head_bytes)` are still in `sock`. The caller closes it."""
    sock: socket.socket
    length: int
    head_bytes: bytes

    def close(self) -> None:
        self.sock.close()


def parse_response_head(head: bytes) -> tuple[int, dict[str, str]]:
    """Status and lower-cased headers of an HTTP/1.x response head (no body)."""
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
        raise StoreUnavailable(f"object store sent a malformed status line: {lines[0][:80]!r}")
    headers = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    return int(parts[1]), headers


async def exchange(host: str, port: int, request: bytes, timeout_s: float, body: bytes = b"",
                   rcvbuf: int = 0) -> tuple[socket.socket, int, dict[str, str], bytes]:
    """Connect, send `request` (then `body`), read the response head: the open
    socket, the status, the headers and what of the body came with the head.
    StoreUnavailable if the store cannot be reached or answers nonsense; the
    caller owns (closes) the socket otherwise."""
    loop = asyncio.get_running_loop()
    sock = None
    try:
        async with asyncio.timeout(timeout_s):
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
            family, type_, proto, _, address = infos[0]
            sock = socket.socket(family, type_, proto)
            sock.setblocking(False)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if rcvbuf:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
            await loop.sock_connect(sock, address)
            await loop.sock_sendall(sock, request)
            if body:
                await loop.sock_sendall(sock, body)
            buffer = b""
            while (end := buffer.find(b"\r\n\r\n")) < 0:
                if len(buffer) > MAX_HEAD:
                    raise StoreUnavailable(f"object store sent a response head over {MAX_HEAD} bytes")
                data = await loop.sock_recv(sock, 16 * 1024)
                if not data:
                    raise StoreUnavailable("object store closed the connection before the headers")
                buffer += data
        status, headers = parse_response_head(buffer[:end])
    except (OSError, TimeoutError) as exc:
        if sock is not None:
            sock.close()
        raise StoreUnavailable(f"object store unavailable: {type(exc).__name__}: {exc}") from None
    except BaseException:
        if sock is not None:
            sock.close()
        raise
    return sock, status, headers, buffer[end + 4:]


async def open_raw_get(url: str, key: str, timeout_s: float) -> RawObject:
    """GET `url` (http only) and return the open body; NotFound on 404,
    StoreUnavailable on anything else that is not a plain 200 with a length."""
    split = urlsplit(url)
    target = split.path + ("?" + split.query if split.query else "")
    request = (f"GET {target} HTTP/1.1\r\nHost: {split.netloc}\r\nConnection: close\r\n"
               f"Accept-Encoding: identity\r\n\r\n").encode("latin-1")
    sock, status, headers, body = await exchange(split.hostname, split.port or 80, request, timeout_s,
                                                 rcvbuf=RELAY_RCVBUF)
    length = headers.get("content-length", "")
    if status == 200 and length.isdigit() and len(body) <= int(length) \
            and "chunked" not in headers.get("transfer-encoding", ""):
        return RawObject(sock, int(length), body)
    sock.close()
    if status == 404:
        raise NotFound(key)
    if status == 200:  # no usable length: the relay could not know where the body ends
        raise StoreUnavailable(f"object store answered GET {key} without a usable Content-Length")
    raise StoreUnavailable(f"object store answered GET {key} with {status}")
