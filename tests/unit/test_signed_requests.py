"""Client-side builders: what they produce passes the function's own checks."""
import hashlib
from dataclasses import replace
from urllib.parse import parse_qsl

import pytest

from emulator.protocol import function_rules as rules
from emulator.protocol import names as n
from emulator.protocol import signed_requests as sr
from emulator.protocol.codec import Encoding
from emulator.protocol.cursor import Cursor
from emulator.protocol.errors import AuthenticationFailed
from emulator.protocol.headers import HealthHeaders, Part, RestoreHeaders, RestoreQuery
from emulator.protocol.signing import SignedRequest, body_digest, verify

SECRET = "client-secret"
NOW = 1_711_999_200
BODY = b"\x1f\x8b a gzip member, say"
LIMITS = rules.Limits()


def persist(**kw):
    args = dict(secret=SECRET, body=BODY, now=NOW, request_id="req-1", engine="document",
                tenant="acme", instance_id="pod-1", strategy="incremental", kind="delta",
                cursor_from=Cursor(0, 18), cursor_to=Cursor(0, 24), encoding=Encoding.GZIP)
    args.update(kw)
    return sr.persist_request(**args)


def passes_function_gates(req: sr.OutgoingRequest, body: bytes, *, now=NOW):
    h = rules.admit_persist(req.headers, now=now, inflight=0, limits=LIMITS)
    rules.check_body(h, secret=SECRET, path=req.path, query=req.query,
                     body_sha256=body_digest(body), body_length=len(body), limits=LIMITS)
    return h


def as_received(req: sr.OutgoingRequest, body: bytes = b"") -> SignedRequest:
    return SignedRequest(req.method, req.path, req.query, req.headers[n.TIMESTAMP],
                         req.headers.get(n.REQUEST_ID, ""), body_digest(body),
                         req.headers[n.SIGNATURE])


class TestPersist:
    def test_headers_pass_every_gate(self):
        req = persist()
        h = passes_function_gates(req, BODY)
        assert (req.method, req.path, req.query, req.target) == ("POST", "/persist", "", "/persist")
        assert h.checksum == hashlib.sha256(BODY).hexdigest()
        assert h.encoding is Encoding.GZIP and h.content_length == len(BODY)
        assert (h.engine, h.tenant, h.instance_id, h.request_id) == ("document", "acme", "pod-1", "req-1")

    def test_full_with_part(self):
        req = persist(kind="full", cursor_from=None, part=Part(2, 3), strategy="full")
        h = passes_function_gates(req, BODY)
        assert h.part == Part(2, 3) and h.kind == "full" and h.cursor_from is None
        assert req.headers[n.CURSOR_FROM] == ""

    def test_streaming_form_equals_the_body_form(self):
        streamed = persist(body=None, body_sha256=hashlib.sha256(BODY).hexdigest(),
                           content_length=len(BODY))
        assert streamed == persist()

    def test_digest_without_length_signs_the_digest(self):
        """A chunked upload knows its digest but sends no Content-Length."""
        req = persist(body=None, body_sha256=hashlib.sha256(BODY).hexdigest())
        assert "Content-Length" not in req.headers
        passes_function_gates(req, BODY)

    def test_empty_body_signs_a_dash(self):
        req = persist(body=b"")
        h = rules.admit_persist(req.headers, now=NOW, inflight=0, limits=LIMITS)
        verify(SECRET, as_received(req), NOW)  # the function's digest of no bytes is "-"
        assert h.content_length == 0

    def test_wrong_secret_fails_gate_two(self):
        req = persist(secret="not-the-function-secret")
        with pytest.raises(AuthenticationFailed):
            passes_function_gates(req, BODY)


class TestResign:
    def test_fresh_timestamp_and_signature(self):
        old = persist()
        later = NOW + 3600
        with pytest.raises(AuthenticationFailed):
            passes_function_gates(old, BODY, now=later)
        new = sr.resign(old, secret=SECRET, now=later)
        assert new.headers[n.TIMESTAMP] == str(later)
        assert new.headers[n.SIGNATURE] != old.headers[n.SIGNATURE]
        passes_function_gates(new, BODY, now=later)
        # everything else is unchanged
        unchanged = {k: v for k, v in new.headers.items() if k not in (n.TIMESTAMP, n.SIGNATURE)}
        assert unchanged == {k: v for k, v in old.headers.items() if k not in (n.TIMESTAMP, n.SIGNATURE)}
        assert old.headers[n.TIMESTAMP] == str(NOW)  # the original is not mutated

    def test_resign_at_the_same_time_is_the_same_signature(self):
        req = persist()
        assert sr.resign(req, secret=SECRET, now=NOW) == req

    def test_resign_of_an_empty_body_matches_the_original_signing(self):
        req = persist(body=b"")
        assert sr.resign(req, secret=SECRET, now=NOW) == req

    def test_resign_restore_and_health(self):
        for req in (sr.restore_request(secret=SECRET, now=NOW, request_id="r", engine="graph",
                                       tenant="t", instance_id="i", up_to=Cursor(0, 5)),
                    sr.health_request(secret=SECRET, now=NOW),
                    sr.health_request(secret=SECRET, now=NOW, request_id="probe")):
            new = sr.resign(req, secret=SECRET, now=NOW + 1000)
            verify(SECRET, as_received(new), NOW + 1000)
            with pytest.raises(AuthenticationFailed):
                verify(SECRET, as_received(req), NOW + 1000)


class TestRestore:
    @pytest.mark.parametrize("kw", [{}, {"up_to": Cursor(2, 12345)}, {"full_only": True},
                                    {"takeover": True}, {"up_to": Cursor(0, 1), "full_only": True}])
    def test_verifies_and_parses(self, kw):
        req = sr.restore_request(secret=SECRET, now=NOW, request_id="rid-7", engine="vector",
                                 tenant="acme", instance_id="pod-2", **kw)
        assert (req.method, req.path) == ("GET", "/restore")
        assert req.target == f"/restore?{req.query}"
        verify(SECRET, as_received(req), NOW)
        query = RestoreQuery.from_query(dict(parse_qsl(req.query, keep_blank_values=True)))
        assert query == RestoreQuery("acme", "vector", kw.get("up_to"), kw.get("full_only", False),
                                     kw.get("takeover", False))
        h = RestoreHeaders.from_headers(req.headers, query)
        assert (h.instance_id, h.request_id, h.timestamp) == ("pod-2", "rid-7", NOW)

    def test_query_is_part_of_the_signature(self):
        req = sr.restore_request(secret=SECRET, now=NOW, request_id="r", engine="vector",
                                 tenant="acme", instance_id="p")
        other = replace(req, query=req.query.replace("latest=true", "latest=false"))
        with pytest.raises(AuthenticationFailed):
            verify(SECRET, as_received(other), NOW)


class TestHealth:
    def test_without_request_id(self):
        req = sr.health_request(secret=SECRET, now=NOW)
        assert n.REQUEST_ID not in req.headers
        h = HealthHeaders.from_headers(req.headers)
        verify(SECRET, SignedRequest("GET", "/health", "", str(h.timestamp), h.request_id, "-",
                                     h.signature), NOW)

    def test_with_request_id(self):
        req = sr.health_request(secret=SECRET, now=NOW, request_id="probe-9")
        h = HealthHeaders.from_headers(req.headers)
        assert h.request_id == "probe-9"
        verify(SECRET, as_received(req), NOW)
        with pytest.raises(AuthenticationFailed):  # the id is signed
            verify(SECRET, replace(as_received(req), request_id=""), NOW)
