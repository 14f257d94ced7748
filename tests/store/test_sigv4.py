"""Our SigV4 signer against botocore's, the reference implementation: the same
request at the same instant must carry the same Authorization. Pure, no I/O."""
from __future__ import annotations

import datetime
import hashlib

import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from emulator.store.raw_put import RawPut
from emulator.store.sigv4 import SigV4Signer, header_value_ok, object_path

NOW = 1_790_000_000.0  # a fixed instant: 2026-09-21T14:13:20Z


def _botocore(monkeypatch, path: str, host: str, body: bytes, headers: dict) -> str:
    """botocore's Authorization for the same request, its clock pinned to NOW."""
    import botocore.auth
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda **_: datetime.datetime.fromtimestamp(
        NOW, datetime.timezone.utc).replace(tzinfo=None))
    request = AWSRequest(method="PUT", url=f"http://{host}{path}", data=body,
                         headers={**headers, "X-Amz-Content-SHA256": hashlib.sha256(body).hexdigest()})
    auth = S3SigV4Auth(Credentials("AKID", "SECRET"), "s3", "us-east-1")
    auth.add_auth(request)
    return request.headers["Authorization"]


@pytest.mark.parametrize("key", [
    "weftkit/default/relational/i-1/full/wkc_000000000000_000000000019.zst",
    "weftkit/t/e/i/claim.json",
    "odd key/with spaces+plus=eq&amp~tilde/ünïcode",
])
def test_authorization_matches_botocore(key, monkeypatch):
    body = b"delta bytes" * 100
    host = "127.0.0.1:45678"
    path = object_path("wkp-emu", key)
    meta = {"x-amz-meta-wkp-checksum": "sha256=ab12", "x-amz-meta-wkp-request-id": "req-1",
            "x-amz-meta-wkp-stored-at": "1790000000", "x-amz-meta-wkp-status": "200",
            "content-length": str(len(body))}
    ours = SigV4Signer("AKID", "SECRET", "us-east-1").sign(
        "PUT", host, path, hashlib.sha256(body).hexdigest(), meta, now=NOW)
    assert ours["x-amz-date"] == "20260921T141320Z"
    assert ours["authorization"] == _botocore(monkeypatch, path, host, body, meta)


def test_signing_changes_with_every_signed_part():
    signer = SigV4Signer("AKID", "SECRET", "us-east-1")
    base = dict(method="PUT", host="h:1", path="/b/k", payload_sha256="0" * 64,
                headers={"x-amz-meta-a": "1"}, now=NOW)
    first = signer.sign(**base)["authorization"]
    for change in ({"path": "/b/k2"}, {"host": "h:2"}, {"payload_sha256": "1" * 64},
                   {"headers": {"x-amz-meta-a": "2"}}, {"now": NOW + 1}):
        assert signer.sign(**{**base, **change})["authorization"] != first, change


def test_only_plain_header_values_take_the_raw_path():
    assert header_value_ok("sha256=abc") and header_value_ok("a b")
    assert not header_value_ok(" a") and not header_value_ok("a  b")
    assert not header_value_ok("é") and not header_value_ok("a\r\nx: y")
    assert RawPut.suits({"wkp-checksum": "sha256=1"})
    assert not RawPut.suits({"wkp checksum": "x"}) and not RawPut.suits({"k": "line\nbreak"})
