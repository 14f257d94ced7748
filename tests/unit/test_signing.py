"""Signing: canonical string, HMAC, freshness, the empty-query rule, tampering."""
import hashlib
import hmac

import pytest

from emulator.protocol import signing
from emulator.protocol.errors import AuthenticationFailed, MalformedRequest
from emulator.protocol.signing import SignedRequest, verify, verify_mac

SECRET = "s3cret"
NOW = 1_711_999_200
BODY = b"\x28\xb5\x2f\xfd compressed bytes"
DIGEST = hashlib.sha256(BODY).hexdigest()
RID = "2b28f8c8-1b2a-4c5b-8c40-3f1d8d52f012"


def signed(*, method="POST", path="/persist", query="", timestamp=NOW, request_id=RID,
           body_sha256=DIGEST, sign_target=None, secret=SECRET) -> SignedRequest:
    """A request signed over `sign_target` (default: path?query), sent as path/query."""
    canonical = "\n".join(["v1", str(timestamp), request_id, method.upper(),
                           sign_target if sign_target is not None else f"{path}?{query}",
                           body_sha256])
    mac = hmac.new(secret.encode(), canonical.encode(), hashlib.sha256).hexdigest()
    return SignedRequest(method, path, query, str(timestamp), request_id, body_sha256, f"v1={mac}")


def test_canonical_string_lines():
    text = signing.canonical_string(timestamp="1711999200", request_id=RID, method="post",
                                    path="/persist", query="", body_sha256=DIGEST)
    assert text.split("\n") == ["v1", "1711999200", RID, "POST", "/persist?", DIGEST]
    assert not text.endswith("\n")
    assert signing.canonical_string(timestamp="1", request_id="", method="GET", path="/health",
                                    query="", body_sha256="-") == "v1\n1\n\nGET\n/health?\n-"


def test_body_digest_and_empty_body():
    assert signing.body_digest(BODY) == DIGEST
    assert signing.body_digest(b"") == "-"
    hasher = hashlib.sha256()
    assert signing.digest_of(hasher, 0) == "-"
    hasher.update(BODY)
    assert signing.digest_of(hasher, len(BODY)) == DIGEST


def test_sign_is_hmac_sha256_hex():
    canonical = "v1\n1\n\nGET\n/health?\n-"
    expected = hmac.new(b"k", canonical.encode(), hashlib.sha256).hexdigest()
    assert signing.sign("k", canonical) == f"v1={expected}"
    assert signing.sign_request("k", timestamp=1, request_id="", method="get",
                                path="/health") == f"v1={expected}"


def test_verify_accepts_a_good_request():
    verify(SECRET, signed(), NOW)
    req = signing.sign_request(SECRET, timestamp=NOW, request_id=RID, method="POST",
                               path="/persist", body_sha256=DIGEST)
    assert req == signed().signature


def test_verify_uses_constant_time_compare(monkeypatch):
    """Both accepted canonical forms go through hmac.compare_digest, none through ==."""
    calls = []
    real = hmac.compare_digest

    def spy(a, b):
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(signing.hmac, "compare_digest", spy)
    verify(SECRET, signed(), NOW)
    assert len(calls) == 2  # empty query: "/persist?" and "/persist" both compared
    calls.clear()
    with pytest.raises(AuthenticationFailed):
        verify(SECRET, signed(secret="wrong"), NOW)
    assert len(calls) == 2  # no early exit that timing could reveal
    calls.clear()
    verify(SECRET, signed(method="GET", path="/restore", query="a=1", body_sha256="-"), NOW)
    assert len(calls) == 1


@pytest.mark.parametrize("skew", [-300, -299, 0, 299, 300])
def test_skew_within_300s_is_accepted(skew):
    verify(SECRET, signed(timestamp=NOW + skew), NOW)


@pytest.mark.parametrize("skew", [-301, 301, -3600, 3600, -NOW])
def test_skew_over_300s_is_rejected_either_way(skew):
    with pytest.raises(AuthenticationFailed) as info:
        verify(SECRET, signed(timestamp=NOW + skew), NOW)
    assert info.value.status_hint == 401
    assert info.value.header == "X-WeftKit-Timestamp"


def test_fractional_clock_just_over_the_edge_is_rejected():
    signing.check_freshness(NOW, NOW + 300.0)
    with pytest.raises(AuthenticationFailed):
        signing.check_freshness(NOW, NOW + 300.5)
    with pytest.raises(AuthenticationFailed):
        signing.check_freshness(NOW, NOW - 300.5)


def test_custom_max_skew():
    verify(SECRET, signed(timestamp=NOW - 10), NOW, max_skew=10)
    with pytest.raises(AuthenticationFailed):
        verify(SECRET, signed(timestamp=NOW - 11), NOW, max_skew=10)


def test_empty_query_accepts_both_spellings():
    verify(SECRET, signed(sign_target="/persist?"), NOW)
    verify(SECRET, signed(sign_target="/persist"), NOW)


def test_non_empty_query_must_match_exactly():
    q = "tenant=default&engine=relational&cursor=&latest=true"
    verify(SECRET, signed(method="GET", path="/restore", query=q, body_sha256="-"), NOW)
    for sent in ["engine=relational&tenant=default&cursor=&latest=true",  # reordered
                 "tenant=default&engine=relational&latest=true",           # cursor= dropped
                 "tenant=default&engine=relational&cursor=&latest=True",   # case
                 "tenant=%64efault&engine=relational&cursor=&latest=true",  # re-encoded
                 q + "&", ""]:
        req = signed(method="GET", path="/restore", query=q, body_sha256="-")
        tampered = SignedRequest(req.method, req.path, sent, req.timestamp, req.request_id,
                                 req.body_sha256, req.signature)
        with pytest.raises(AuthenticationFailed):
            verify(SECRET, tampered, NOW)
    # and a signature over the bare path does not stand for a non-empty query
    with pytest.raises(AuthenticationFailed):
        verify(SECRET, signed(method="GET", path="/restore", query=q, body_sha256="-",
                              sign_target="/restore"), NOW)


@pytest.mark.parametrize("field, value", [
    ("body_sha256", hashlib.sha256(BODY + b"x").hexdigest()),
    ("body_sha256", "-"),
    ("method", "PUT"),
    ("path", "/restore"),
    ("path", "/persist/"),
    ("request_id", "2b28f8c8-1b2a-4c5b-8c40-3f1d8d52f013"),
    ("request_id", ""),
    ("timestamp", str(NOW + 1)),
    ("query", "x=1"),
])
def test_tampering_any_signed_field_fails(field, value):
    good = signed()
    fields = {f: getattr(good, f) for f in SignedRequest.__dataclass_fields__}
    fields[field] = value
    with pytest.raises(AuthenticationFailed) as info:
        verify(SECRET, SignedRequest(**fields), NOW)
    assert info.value.header == "X-WeftKit-Signature"


def test_method_case_is_normalised_not_a_tamper():
    good = signed()
    lower = SignedRequest("post", good.path, good.query, good.timestamp, good.request_id,
                          good.body_sha256, good.signature)
    verify(SECRET, lower, NOW)


def test_wrong_secret_fails():
    with pytest.raises(AuthenticationFailed):
        verify(SECRET, signed(secret=SECRET + "x"), NOW)


def test_health_with_empty_request_id_line():
    req = signed(method="GET", path="/health", request_id="", body_sha256="-")
    verify(SECRET, req, NOW)
    assert req.canonical() == f"v1\n{NOW}\n\nGET\n/health?\n-"
    # a health probe that does send a request id signs it
    with_id = signed(method="GET", path="/health", request_id="probe-1", body_sha256="-")
    verify(SECRET, with_id, NOW)
    with pytest.raises(AuthenticationFailed):
        verify(SECRET, SignedRequest("GET", "/health", "", str(NOW), "", "-", with_id.signature), NOW)


GOOD_MAC = "a" * 64


@pytest.mark.parametrize("signature", [
    "", None, "v1=", "v1", GOOD_MAC, f"v2={GOOD_MAC}", f"V1={GOOD_MAC}", f"v1:{GOOD_MAC}",
    f"v1={GOOD_MAC[:-1]}", f"v1={GOOD_MAC}a", f"v1={'g' * 64}",
    f"v1= {GOOD_MAC[1:]}", f"v1={'é' * 64}", f"sha256={GOOD_MAC}",
])
def test_signature_format_errors_are_401(signature):
    req = SignedRequest("POST", "/persist", "", str(NOW), RID, DIGEST, signature)
    for check in (lambda: verify(SECRET, req, NOW), lambda: verify_mac(SECRET, req),
                  lambda: signing.check_signature_format(signature)):
        with pytest.raises(AuthenticationFailed) as info:
            check()
        assert info.value.status_hint == 401
        assert info.value.header == "X-WeftKit-Signature"


@pytest.mark.parametrize("timestamp", ["", "abc", "1711999200.5", "-1711999200", "+1711999200",
                                       " 1711999200", "1711999200 ", "1e9", "1234567890123",
                                       "\u0661\u0667\u0661\u0661", "01711999200", "00"])
def test_bad_timestamp_is_400_naming_the_header(timestamp):
    req = signed()
    bad = SignedRequest(req.method, req.path, req.query, timestamp, req.request_id,
                        req.body_sha256, req.signature)
    with pytest.raises(MalformedRequest) as info:
        verify(SECRET, bad, NOW)
    assert not isinstance(info.value, AuthenticationFailed)
    assert info.value.status_hint == 400
    assert info.value.header == "X-WeftKit-Timestamp"
    assert "X-WeftKit-Timestamp" in info.value.reason


def test_missing_timestamp_is_400():
    with pytest.raises(MalformedRequest) as info:
        signing.parse_timestamp(None)
    assert info.value.status_hint == 400 and info.value.header == "X-WeftKit-Timestamp"
    assert signing.parse_timestamp("0") == 0
    assert signing.parse_timestamp("1711999200") == 1711999200


def test_verify_mac_skips_freshness():
    """After a long upload the timestamp is old; the signature alone is checked."""
    old = signed(timestamp=NOW - 10_000)
    verify_mac(SECRET, old)
    with pytest.raises(AuthenticationFailed):
        verify(SECRET, old, NOW)


def test_error_json_names_the_header():
    with pytest.raises(AuthenticationFailed) as info:
        verify(SECRET, signed(secret="nope"), NOW)
    assert info.value.to_json() == {"error": "AuthenticationFailed",
                                    "reason": "signature does not match the canonical string",
                                    "header": "X-WeftKit-Signature"}


def test_upper_case_hex_signature_verifies():
    """The seed says only <hex>: a signer emitting upper case is not refused forever."""
    unsigned = SignedRequest("POST", "/persist", "", str(NOW), RID, DIGEST, "")
    mac = signing.sign(SECRET, unsigned.canonical()).partition("=")[2]
    req = SignedRequest("POST", "/persist", "", str(NOW), RID, DIGEST, f"v1={mac.upper()}")
    verify(SECRET, req, NOW)
    wrong = SignedRequest("POST", "/persist", "", str(NOW), RID, DIGEST, f"v1={'A' * 64}")
    with pytest.raises(AuthenticationFailed):
        verify(SECRET, wrong, NOW)
