"""A PutObject on a socket of its own, signed by sigv4.py: the persist hot path.

Why: a 4 KiB delta costs the store a few hundred microseconds and the S3 SDK
about a millisecond of the function's CPU to send it (docs/benchmarks.md).
On the shared cores of a laptop running the whole stack, that millisecond
is what the function's persist rate is made of. One HTTP/1.1 request, signed
by hand, answered with a status and an ETag, costs a small fraction of it.

Only the plain case is taken here: a plain-http endpoint (moto on loopback, a
local MinIO), a body in memory, metadata that can be sent as is. Whatever the
store answers other than 200 (and any failure to reach it) is handed back to
the caller, who asks the SDK: its retries and its error mapping stay the one
source of truth for anything unusual.
"""
from __future__ import annotations

import hashlib
from typing import Mapping
from urllib.parse import urlsplit

from .interface import StoreUnavailable
from .raw_get import exchange
from .sigv4 import SigV4Signer, header_value_ok, object_path

SMALL = 64 * 1024  # bodies up to this go out with the head in one send


class RawPut:
    def __init__(self, endpoint_url: str, bucket: str, signer: SigV4Signer, timeout_s: float):
        split = urlsplit(endpoint_url)
        self._host, self._port = split.hostname, split.port or 80
        self._netloc, self._bucket = split.netloc, bucket
        self._signer, self._timeout_s = signer, timeout_s

    @staticmethod
    def suits(metadata: Mapping[str, str]) -> bool:
        return all(header_value_ok(k) and header_value_ok(v) and " " not in k
                   for k, v in metadata.items())

    async def put(self, key: str, data: bytes, metadata: Mapping[str, str]) -> str | None:
        """The stored object's ETag (no quotes), or None if the store answered
        anything but 200 or could not be reached: the caller then retries
        through the SDK (PutObject is idempotent), whose answer is the one that counts."""
        path = object_path(self._bucket, key)
        headers = {f"x-amz-meta-{k.lower()}": v for k, v in metadata.items()}
        headers["content-length"] = str(len(data))
        signed = self._signer.sign("PUT", self._netloc, path, hashlib.sha256(data).hexdigest(),
                                   headers)
        head = "".join([f"PUT {path} HTTP/1.1\r\n", "connection: close\r\n",
                        *(f"{k}: {v}\r\n" for k, v in signed.items()), "\r\n"]).encode("latin-1")
        if len(data) <= SMALL:
            head, data = head + data, b""
        try:
            sock, status, answer, _ = await exchange(self._host, self._port, head, self._timeout_s, data)
        except StoreUnavailable:
            return None
        sock.close()
        etag = answer.get("etag", "").strip('"')
        return etag if status == 200 and etag else None
