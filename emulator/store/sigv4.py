"""AWS Signature Version 4 for one kind of request: an S3 PutObject, path style.

Why our own: the S3 SDK spends about a millisecond of CPU building, signing
and dispatching each call (endpoint rules, user-agent assembly, event hooks),
which for a 4 KiB delta is most of the function's work per persist (a profile
put it at 85 %). Signing itself is four HMACs and two hashes. raw_put.py sends
what this module signs; everything else still goes through the SDK.

Pure: the time comes in as an argument. tests/store/test_sigv4.py checks the
result against botocore's own signer, header for header.
"""
from __future__ import annotations

import hashlib
import hmac
import time
from typing import Mapping
from urllib.parse import quote

ALGORITHM = "AWS4-HMAC-SHA256"


def object_path(bucket: str, key: str) -> str:
    """The path-style URI, encoded as S3's canonical URI wants it (each byte
    outside A-Z a-z 0-9 - _ . ~ percent-encoded, slashes kept)."""
    return "/" + quote(bucket, safe="~") + "/" + quote(key, safe="/~")


def header_value_ok(value: str) -> bool:
    """Whether a header value is sent and signed as is: printable ASCII with no
    run of spaces or edge spaces (the canonical form would otherwise differ
    from the bytes on the wire). Anything else goes through the SDK."""
    return value.isascii() and value.isprintable() and value == " ".join(value.split())


class SigV4Signer:
    def __init__(self, access_key: str, secret_key: str, region: str, service: str = "s3"):
        self._access_key, self._secret_key = access_key, secret_key
        self._region, self._service = region, service
        self._keys: dict[str, bytes] = {}  # one signing key per day

    def _signing_key(self, day: str) -> bytes:
        key = self._keys.get(day)
        if key is None:
            key = ("AWS4" + self._secret_key).encode()
            for part in (day, self._region, self._service, "aws4_request"):
                key = hmac.new(key, part.encode(), hashlib.sha256).digest()
            self._keys = {day: key}
        return key

    def sign(self, method: str, host: str, path: str, payload_sha256: str,
             headers: Mapping[str, str], now: float | None = None) -> dict[str, str]:
        """The headers to send: `headers` (lower-case names), plus host, the
        date, the payload hash and the Authorization that signs all of them.
        `path` is already URI-encoded (object_path); there is no query."""
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(time.time() if now is None else now))
        day = stamp[:8]
        signed = {**{k.lower(): v for k, v in headers.items()}, "host": host,
                  "x-amz-content-sha256": payload_sha256, "x-amz-date": stamp}
        names = sorted(signed)
        canonical = "\n".join([method, path, "",
                               "".join(f"{n}:{signed[n]}\n" for n in names),
                               ";".join(names), payload_sha256])
        scope = f"{day}/{self._region}/{self._service}/aws4_request"
        to_sign = "\n".join([ALGORITHM, stamp, scope,
                             hashlib.sha256(canonical.encode()).hexdigest()])
        signature = hmac.new(self._signing_key(day), to_sign.encode(), hashlib.sha256).hexdigest()
        signed["authorization"] = (f"{ALGORITHM} Credential={self._access_key}/{scope}, "
                                   f"SignedHeaders={';'.join(names)}, Signature={signature}")
        return signed
