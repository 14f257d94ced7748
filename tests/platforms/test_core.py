"""wkp_functions.core: the synchronous WKP-1 function over boto3 on a real moto S3."""
from __future__ import annotations

import hashlib
import io
import time

import pytest

from emulator.protocol import signed_requests as sr
from emulator.protocol.codec import Encoding
from emulator.protocol.cursor import Cursor
from emulator.protocol.function_rules import Limits
from emulator.protocol.headers import RestoreResponse
from wkp_functions.core import CoreConfig, FunctionCore
from wkp_functions.stores.s3 import S3Store

from .conftest import SECRET

C = [Cursor(1, i) for i in range(10)]


@pytest.fixture
def store(bucket):
    endpoint, name = bucket
    return S3Store.from_env(name, endpoint_url=endpoint, region="us-east-1")


def make_core(store, **limits):
    return FunctionCore(store, CoreConfig(secret=SECRET, limits=Limits(**limits)))


_ids = iter(range(1, 10**9))


def push(core, body, kind, to, frm=None, *, instance="i-a", secret=SECRET, readable=False,
         encoding=Encoding.ZSTD, request_id=None):
    req = sr.persist_request(secret=secret, body=body, now=int(time.time()),
                             request_id=request_id or f"r-{next(_ids)}", engine="relational",
                             tenant="default", instance_id=instance, strategy="incremental",
                             kind=kind, cursor_from=frm, cursor_to=to, encoding=encoding)
    return core.handle("POST", req.target, req.headers, io.BytesIO(body) if readable else body)


def restore(core, instance="i-a", **kw):
    req = sr.restore_request(secret=SECRET, now=int(time.time()), request_id=f"r-{next(_ids)}",
                             engine="relational", tenant="default", instance_id=instance, **kw)
    return core.handle("GET", req.target, {k.lower(): v for k, v in req.headers.items()})


def zstd(data: bytes) -> bytes:
    return Encoding.ZSTD.compress(data)


def test_persist_then_restore_sends_the_chain_with_its_checksum(store):
    core = make_core(store)
    full, d1 = zstd(b"full" * 1000), zstd(b"delta")
    assert push(core, full, "full", C[1]).status == 200
    assert push(core, d1, "delta", C[2], C[1], readable=True).status == 200
    reply = restore(core)
    assert reply.status == 200 and reply.streamed
    body = reply.body_bytes()
    assert body == full + d1
    meta = RestoreResponse.from_headers(reply.headers)
    assert meta.cursor == C[2] and meta.deltas == 1
    assert meta.checksum == hashlib.sha256(body).hexdigest()
    assert int(reply.headers["Content-Length"]) == len(body)


def test_a_cold_instance_restores_what_a_warm_one_stored(store):
    full = zstd(b"x" * 5000)
    assert push(make_core(store), full, "full", C[1]).status == 200
    reply = restore(make_core(store))
    body = reply.body_bytes()
    assert body == full
    assert RestoreResponse.from_headers(reply.headers).checksum == hashlib.sha256(full).hexdigest()


def test_retry_is_a_duplicate_and_a_gap_is_409(store):
    core = make_core(store)
    assert push(core, zstd(b"f"), "full", C[1]).status == 200
    delta = zstd(b"d1")
    first = push(core, delta, "delta", C[2], C[1], request_id="same")
    warm = push(core, delta, "delta", C[2], C[1], request_id="same")  # from the warm state
    cold = push(make_core(store), delta, "delta", C[2], C[1], request_id="same")  # from the metadata
    assert (first.status, warm.status, cold.status) == (200, 200, 200)
    assert first.body == warm.body == cold.body  # answered exactly as the first time (same stored_at)
    assert len(store.list("weftkit/")) == 2
    gap = push(core, zstd(b"d"), "delta", C[5], C[4])
    assert gap.status == 409 and b"cursor gap" in gap.body


def test_a_warm_head_is_confirmed_against_other_instances(store):
    """Two function instances over one bucket: neither forks the chain."""
    a, b = make_core(store), make_core(store)
    assert push(a, zstd(b"f"), "full", C[1]).status == 200
    assert push(b, zstd(b"d1"), "delta", C[2], C[1]).status == 200
    # a's warm head is still C[1]; a delta from C[1] again must be refused, not stored
    assert push(a, zstd(b"d1-other"), "delta", C[2], C[1]).status == 409
    assert push(a, zstd(b"d2"), "delta", C[3], C[2]).status == 200


def test_bad_signature_401_too_large_413_nothing_stored(store):
    core = make_core(store, max_payload=1000)
    assert push(core, zstd(b"f"), "full", C[1], secret="wrong").status == 401
    big = push(core, b"\x28\xb5\x2f\xfd" + bytes(2000), "full", C[1])
    assert big.status == 413 and big.headers["X-WeftKit-Max-Payload"] == "1000"
    assert store.list("weftkit/") == []
    assert restore(core).status == 204


def test_routes_methods_and_health(store, bucket):
    core = make_core(store)
    req = sr.health_request(secret=SECRET, now=int(time.time()))
    assert core.handle("GET", "/health", req.headers).status == 200
    assert core.handle("GET", "/nowhere", {}).status == 404
    assert core.handle("GET", "/persist", {}).status == 405
    gone = FunctionCore(S3Store.from_env("no-such-bucket", endpoint_url=bucket[0]),
                        CoreConfig(secret=SECRET))
    assert gone.handle("GET", "/health", req.headers).status == 503


def test_large_chain_goes_multipart_and_streams_back(store):
    core = make_core(store)
    body = b"\x28\xb5\x2f\xfd" + bytes(range(256)) * (9 * 4096)  # over the 8 MiB part size
    assert push(core, body, "full", C[1], readable=True).status == 200
    reply = restore(core)
    chunks = list(reply.body)
    assert len(chunks) > 1 and b"".join(chunks) == body


def test_takeover_adopts_the_newest_lineage(store):
    core = make_core(store)
    assert push(core, zstd(b"old"), "full", C[1], instance="i-old").status == 200
    reply = restore(core, instance="i-new", takeover=True)
    assert reply.status == 200 and reply.headers["X-WeftKit-Lineage"] == "i-old"
    assert restore(core, instance="i-other", takeover=True).status == 204  # claimed already
