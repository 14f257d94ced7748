"""The kit's HTTP side: send an OutgoingRequest with aiohttp, get a Reply back.

Requests are built and signed by emulator.protocol.signed_requests (one
definition shared with our engines); this module only moves bytes. The query
is sent exactly as signed (yarl `encoded=True`), and bodies are never
decompressed on the way in (auto_decompress=False is the session's job).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import AsyncIterable, Mapping

import aiohttp
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from emulator.protocol.signed_requests import OutgoingRequest

MAX_REPLY_BYTES = 64 * 1024 * 1024  # conformance bodies are small; a runaway reply is a failure
SNIPPET = 160
USER_AGENT = "wkp-emu-conformance/0.1"


class ReplyTooLarge(Exception):
    pass


@dataclass(frozen=True)
class Reply:
    method: str
    target: str
    status: int
    headers: CIMultiDictProxy = field(repr=False)
    body: bytes = field(repr=False)
    label: str = ""  # what the request was, for reasons: "delta wkc_0000_0010→wkc_0000_0015"

    def header(self, name: str) -> str | None:
        return self.headers.get(name)

    def json(self):
        """The body as JSON; ValueError when it is not."""
        return json.loads(self.body.decode("utf-8"))

    @property
    def request_line(self) -> str:
        line = f"{self.method} {self.target}"
        return f"{line} ({self.label})" if self.label else line

    def summary(self) -> str:
        """`409 {"error": ...}`: the status and a short, printable view of the body."""
        if not self.body:
            return str(self.status)
        try:
            text = self.body.decode("utf-8")
        except UnicodeDecodeError:
            return f"{self.status} <{len(self.body)} bytes>"
        text = " ".join(text.split())
        if not text.isprintable():
            return f"{self.status} <{len(self.body)} bytes>"
        if len(text) > SNIPPET:
            text = text[:SNIPPET] + "…"
        return f"{self.status} {text}"


def open_session(timeout_s: float) -> aiohttp.ClientSession:
    """One session per run. auto_decompress=False: a gzip restore must arrive as sent.
    No Accept-Encoding is sent (engines send none), so no proxy in front of the function
    adds a transport coding on top of the WKP-1 one; the User-Agent finds the kit in logs."""
    timeout = aiohttp.ClientTimeout(total=timeout_s, sock_connect=min(timeout_s, 10))
    return aiohttp.ClientSession(auto_decompress=False, timeout=timeout,
                                 skip_auto_headers=("Accept-Encoding",),
                                 headers={"User-Agent": USER_AGENT})


class WkpClient:
    def __init__(self, session: aiohttp.ClientSession, endpoint: str):
        self._session = session
        self._base = endpoint.rstrip("/")

    @property
    def endpoint(self) -> str:
        return self._base

    def url(self, target: str) -> URL:
        return URL(self._base + target, encoded=True)

    async def send(self, request: OutgoingRequest,
                   body: bytes | AsyncIterable[bytes] | None = None,
                   headers: Mapping[str, str] | None = None, label: str = "") -> Reply:
        """Send `request` (its headers, or `headers` when given) and read the whole reply."""
        sent = dict(request.headers if headers is None else headers)
        async with self._session.request(request.method, self.url(request.target),
                                         headers=sent, data=body, allow_redirects=False) as resp:
            payload = await _read_capped(resp)
            return Reply(request.method, request.target, resp.status,
                         CIMultiDictProxy(CIMultiDict(resp.headers)), payload, label)


    async def post_json(self, path: str) -> tuple[int, object]:
        """An unsigned POST to `path` (the emulator's admin routes): (status, JSON or None)."""
        async with self._session.post(self.url(path), allow_redirects=False) as resp:
            payload = await _read_capped(resp)
        try:
            return resp.status, json.loads(payload.decode("utf-8"))
        except ValueError:
            return resp.status, None


async def _read_capped(resp: aiohttp.ClientResponse) -> bytes:
    chunks, size = [], 0
    async for chunk in resp.content.iter_chunked(1024 * 1024):
        size += len(chunk)
        if size > MAX_REPLY_BYTES:
            raise ReplyTooLarge(f"reply body exceeds {MAX_REPLY_BYTES} bytes")
        chunks.append(chunk)
    return b"".join(chunks)
