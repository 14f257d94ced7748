"""The function's gates: admit (429/400/401/413), body (413/401/400), chain (409)."""
import hashlib

import pytest

from emulator.protocol import function_rules as rules
from emulator.protocol import layout
from emulator.protocol import names as n
from emulator.protocol import signed_requests as sr
from emulator.protocol.codec import Encoding
from emulator.protocol.cursor import Cursor
from emulator.protocol.errors import (AuthenticationFailed, CursorConflict, MalformedRequest,
                                      PayloadTooLarge, Throttled)
from emulator.protocol.function_rules import ChainAction, Limits, Stored

SECRET = "fn-secret"
NOW = 1_711_999_200
BODY = b"(\xb5/\xfd a compressed snapshot"
LIMITS = Limits(max_payload=1000, max_inflight=4, retry_after_s=3, max_skew_s=300)


def persist_headers(*, body=BODY, now=NOW, secret=SECRET, kind="delta",
                    cursor_from=Cursor(0, 18), cursor_to=Cursor(0, 24), **changes) -> dict:
    req = sr.persist_request(secret=secret, body=body, now=now, request_id="rid-1",
                             engine="relational", tenant="default", instance_id="i-1",
                             strategy="incremental", kind=kind, cursor_from=cursor_from,
                             cursor_to=cursor_to, encoding=Encoding.ZSTD)
    headers = dict(req.headers)
    for name, value in changes.items():
        if value is None:
            headers.pop(name, None)
        else:
            headers[name] = value
    return headers


def admit(headers, *, now=NOW, inflight=0, limits=LIMITS):
    return rules.admit_persist(headers, now=now, inflight=inflight, limits=limits)


def body_check(h, body: bytes, *, path="/persist", query="", limits=LIMITS, secret=SECRET):
    rules.check_body(h, secret=secret, path=path, query=query,
                     body_sha256=hashlib.sha256(body).hexdigest() if body else "-",
                     body_length=len(body), limits=limits)


def test_defaults_follow_the_seed():
    limits = Limits()
    assert limits.max_payload == 100 * 1024 * 1024
    assert limits.max_skew_s == 300
    assert (limits.max_inflight, limits.retry_after_s) == (256, 1)


class TestAdmit:
    def test_good_request_is_admitted(self):
        h = admit(persist_headers())
        assert h.cursor_to == Cursor(0, 24) and h.content_length == len(BODY)

    def test_mac_is_not_checked_before_the_body(self):
        admit(persist_headers(secret="another-secret"))  # only gate 2 can tell

    @pytest.mark.parametrize("headers", [{}, {"X-WeftKit-Protocol": "v9"}, "good"])
    def test_429_before_anything_when_at_the_limit(self, headers):
        headers = persist_headers() if headers == "good" else headers
        for inflight in (4, 5, 100):
            with pytest.raises(Throttled) as info:
                admit(headers, inflight=inflight, now=NOW + 10_000)
            assert info.value.status_hint == 429
            assert info.value.headers == {"Retry-After": "3"}

    def test_below_the_inflight_limit_is_admitted(self):
        admit(persist_headers(), inflight=3)

    def test_413_by_content_length_with_the_limit_named(self):
        with pytest.raises(PayloadTooLarge) as info:
            admit(persist_headers(**{"Content-Length": "1001"}))
        assert info.value.status_hint == 413
        assert info.value.headers == {n.MAX_PAYLOAD: "1000"}
        admit(persist_headers(**{"Content-Length": "1000"}))  # exactly the limit is fine

    def test_no_content_length_defers_the_size_check(self):
        admit(persist_headers(**{"Content-Length": None}))

    @pytest.mark.parametrize("skew", [301, -301, 86_400])
    def test_401_stale_or_future_timestamp(self, skew):
        with pytest.raises(AuthenticationFailed) as info:
            admit(persist_headers(now=NOW + skew))
        assert info.value.status_hint == 401 and info.value.header == n.TIMESTAMP

    @pytest.mark.parametrize("skew", [300, -300])
    def test_exactly_300s_is_admitted(self, skew):
        admit(persist_headers(now=NOW + skew))

    def test_custom_skew_limit(self):
        with pytest.raises(AuthenticationFailed):
            admit(persist_headers(now=NOW - 61), limits=Limits(max_skew_s=60))

    @pytest.mark.parametrize("signature", [None, "", "v1=abc", "hmac=" + "0" * 64])
    def test_401_missing_or_malformed_signature(self, signature):
        with pytest.raises(AuthenticationFailed) as info:
            admit(persist_headers(**{n.SIGNATURE: signature}))
        assert info.value.header == n.SIGNATURE

    @pytest.mark.parametrize("header, value", [(n.TENANT, "../x"), (n.SNAPSHOT_KIND, "x"),
                                               (n.PROTOCOL, None), (n.CHECKSUM, "sha256=zz")])
    def test_400_bad_headers(self, header, value):
        with pytest.raises(MalformedRequest) as info:
            admit(persist_headers(**{header: value}))
        assert info.value.status_hint == 400 and info.value.header == header

    def test_order_headers_then_auth_then_size(self):
        # bad header and stale timestamp and too large: the header is reported
        with pytest.raises(MalformedRequest) as info:
            admit(persist_headers(now=NOW - 999, **{n.TENANT: "../x", "Content-Length": "99999"}))
        assert info.value.status_hint == 400
        # stale and too large: 401 first (the engine retries with a fresh timestamp)
        with pytest.raises(AuthenticationFailed):
            admit(persist_headers(now=NOW - 999, **{"Content-Length": "99999"}))


class TestBody:
    def test_good_body_passes(self):
        h = admit(persist_headers())
        body_check(h, BODY)

    def test_bad_signature_takes_precedence_over_checksum(self):
        """Body damaged in transit: both digests disagree, 401 so the engine retries."""
        h = admit(persist_headers())
        with pytest.raises(AuthenticationFailed) as info:
            body_check(h, BODY + b"!")
        assert info.value.status_hint == 401

    def test_wrong_secret_is_401(self):
        h = admit(persist_headers(secret="other"))
        with pytest.raises(AuthenticationFailed):
            body_check(h, BODY)

    def test_checksum_mismatch_with_a_good_signature_is_400(self):
        other = hashlib.sha256(b"something else").hexdigest()
        h = admit(persist_headers(**{n.CHECKSUM: f"sha256={other}"}))
        with pytest.raises(MalformedRequest) as info:
            body_check(h, BODY)
        assert not isinstance(info.value, AuthenticationFailed)
        assert info.value.status_hint == 400 and info.value.header == n.CHECKSUM

    def test_chunked_body_over_the_limit_is_413(self):
        big = b"x" * 1001
        h = admit(persist_headers(body=big, **{"Content-Length": None}))
        with pytest.raises(PayloadTooLarge) as info:
            body_check(h, big)
        assert info.value.headers == {n.MAX_PAYLOAD: "1000"}
        # 413 even when the signature would not match: the body is not worth checking
        with pytest.raises(PayloadTooLarge):
            body_check(h, big, secret="wrong")
        body_check(admit(persist_headers(body=b"x" * 1000, **{"Content-Length": None})), b"x" * 1000)

    def test_empty_body_is_400(self):
        h = admit(persist_headers(body=b""))
        with pytest.raises(MalformedRequest) as info:
            body_check(h, b"")
        assert info.value.status_hint == 400 and "empty" in info.value.reason

    def test_empty_body_against_a_signature_over_bytes_is_401(self):
        h = admit(persist_headers())
        with pytest.raises(AuthenticationFailed):
            body_check(h, b"")

    def test_body_shorter_than_content_length_is_400(self):
        h = admit(persist_headers(**{"Content-Length": str(len(BODY) + 5)}))
        with pytest.raises(MalformedRequest) as info:
            body_check(h, BODY)
        assert info.value.header == "Content-Length"

    @pytest.mark.parametrize("path, query", [("/persist", "x=1"), ("/restore", ""), ("/persist/", "")])
    def test_signature_covers_path_and_query(self, path, query):
        h = admit(persist_headers())
        with pytest.raises(AuthenticationFailed):
            body_check(h, BODY, path=path, query=query)


KEY = "weftkit/default/relational/i-1/delta/k.zst"
CHECKSUM = hashlib.sha256(BODY).hexdigest()


def h_for(kind, frm, to, checksum=CHECKSUM):
    headers = persist_headers(kind=kind, cursor_from=frm, cursor_to=to,
                              **{n.CHECKSUM: f"sha256={checksum}"})
    return admit(headers)


def existing(checksum=CHECKSUM, key=KEY):
    return Stored(key=key, checksum=checksum, cursor_to=Cursor(0, 24), stored_at=NOW,
                  status=200, request_id="rid-0")


C = Cursor
DECISIONS = [
    # kind, from, to, head, existing, expected
    ("duplicate delta", "delta", C(0, 18), C(0, 24), C(0, 24), existing(), ChainAction.DUPLICATE),
    ("duplicate delta far behind", "delta", C(0, 18), C(0, 24), C(0, 90), existing(), ChainAction.DUPLICATE),
    ("duplicate full behind head", "full", None, C(0, 24), C(0, 90), existing(), ChainAction.DUPLICATE),
    ("first full", "full", None, C(0, 24), None, None, ChainAction.STORE),
    ("full at head", "full", None, C(0, 24), C(0, 24), None, ChainAction.STORE),
    ("full after head", "full", None, C(0, 30), C(0, 24), None, ChainAction.STORE),
    ("full in a new epoch", "full", None, C(1, 5), C(0, 900), None, ChainAction.STORE),
    ("full at head, other bytes", "full", None, C(0, 24), C(0, 24), existing("0" * 64), ChainAction.STORE),
    ("full behind head", "full", None, C(0, 20), C(0, 24), None, CursorConflict),
    ("full behind, old epoch", "full", None, C(0, 900), C(1, 5), None, CursorConflict),
    ("delta at head", "delta", C(0, 24), C(0, 30), C(0, 24), None, ChainAction.STORE),
    ("delta gap ahead", "delta", C(0, 25), C(0, 30), C(0, 24), None, CursorConflict),
    ("delta behind head", "delta", C(0, 18), C(0, 30), C(0, 24), None, CursorConflict),
    ("delta, other bytes at key", "delta", C(0, 18), C(0, 24), C(0, 24), existing("0" * 64), CursorConflict),
    ("delta with nothing stored", "delta", C(0, 0), C(0, 10), None, None, CursorConflict),
    ("delta across epochs of head", "delta", C(1, 24), C(1, 30), C(0, 24), None, CursorConflict),
]


@pytest.mark.parametrize("kind, frm, to, head, stored, expected",
                         [row[1:] for row in DECISIONS], ids=[row[0] for row in DECISIONS])
def test_decide_chain(kind, frm, to, head, stored, expected):
    h = h_for(kind, frm, to)
    if isinstance(expected, ChainAction):
        assert rules.decide_chain(h, KEY, head, stored) is expected
    else:
        with pytest.raises(expected) as info:
            rules.decide_chain(h, KEY, head, stored)
        assert info.value.status_hint == 409


def test_duplicate_needs_the_same_key():
    h = h_for("delta", C(0, 18), C(0, 24))
    with pytest.raises(CursorConflict):
        rules.decide_chain(h, KEY, C(0, 30), existing(key=KEY + ".other"))


def test_split_push_parts_are_stored_until_complete():
    """Parts of one delta all start at the head: the head moves only when all are in."""
    headers = persist_headers(cursor_from=C(0, 24), cursor_to=C(0, 30), **{n.PART: "2/3"})
    h = admit(headers)
    key = layout.object_key("default", "relational", "i-1", "delta", h.cursor_from, h.cursor_to,
                            h.encoding, h.part)
    assert rules.decide_chain(h, key, C(0, 24), None) is ChainAction.STORE


def test_stored_response_repeats_the_first_answer():
    stored = Stored(key=KEY, checksum=CHECKSUM, cursor_to=C(0, 24), stored_at=1711999201,
                    status=202, request_id="rid-0")
    assert rules.stored_response(stored) == (202, {"cursor": "wkc_0000_0024", "stored_at": 1711999201})
