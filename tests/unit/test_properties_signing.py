"""Properties of signing and of the function's request gates (hypothesis; pure, no I/O).

Every property here runs under the "wkp-ci" profile by default: a bounded
number of examples, derandomized, so CI is fast and cannot flake. For a longer
local hunt, choose the deep profile (random seeds, many more examples):

    WKP_HYPOTHESIS_PROFILE=wkp-deep ./run-tests tests/unit -k properties -p no:randomly --timeout 0

The same variable drives every tests/unit/test_properties_*.py module.
"""
from __future__ import annotations

import hashlib
import os

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from emulator.protocol import function_rules as rules
from emulator.protocol import names as n
from emulator.protocol import signed_requests as sr
from emulator.protocol.codec import Encoding
from emulator.protocol.cursor import Cursor
from emulator.protocol.errors import AuthenticationFailed, ProtocolError
from emulator.protocol.headers import HealthHeaders, PersistHeaders, RestoreHeaders, RestoreQuery
from emulator.protocol.signing import SignedRequest, body_digest, sign_request, verify

settings.register_profile("wkp-ci", max_examples=60, derandomize=True, deadline=None,
                          database=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("wkp-deep", max_examples=1500, deadline=None, database=None)
PROFILE = settings.get_profile(os.environ.get("WKP_HYPOTHESIS_PROFILE", "wkp-ci"))

NOW = 1_711_999_200
tokens = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,20}", fullmatch=True).filter(lambda s: ".." not in s)
engines = st.from_regex(r"[a-z][a-z0-9-]{0,12}", fullmatch=True).filter(lambda s: ".." not in s)
secrets = st.text(min_size=1, max_size=40)
cursors = st.builds(Cursor, st.integers(0, 10**12 - 1), st.integers(0, 10**12 - 1))
queries = st.from_regex(r"[A-Za-z0-9=&%._~-]{0,40}", fullmatch=True)
signed_requests = st.builds(
    SignedRequest, method=st.sampled_from(["GET", "POST", "PUT", "DELETE"]),
    path=st.from_regex(r"/[A-Za-z0-9/_.-]{0,30}", fullmatch=True), query=queries,
    timestamp=st.integers(NOW - 300, NOW + 300).map(str), request_id=st.one_of(st.just(""), tokens),
    body_sha256=st.one_of(st.just("-"), st.binary(min_size=1).map(lambda b: hashlib.sha256(b).hexdigest())),
    signature=st.just(""))


def signed_by(secret: str, r: SignedRequest) -> SignedRequest:
    sig = sign_request(secret, timestamp=r.timestamp, request_id=r.request_id, method=r.method,
                       path=r.path, query=r.query, body_sha256=r.body_sha256)
    return SignedRequest(r.method, r.path, r.query, r.timestamp, r.request_id, r.body_sha256, sig)


@PROFILE
@given(secret=secrets, request=signed_requests, clock_offset=st.integers(-300, 300))
def test_a_signed_request_verifies_within_the_skew_window(secret, request, clock_offset):
    verify(secret, signed_by(secret, request), int(request.timestamp) + clock_offset)


def _tampered(r: SignedRequest, field: str, data) -> SignedRequest | None:
    """The request with one field changed to a different value (None if no change is possible)."""
    if field == "timestamp":
        new = str(int(r.timestamp) + data.draw(st.sampled_from([-1, 1, 7, -60])))
    elif field == "method":
        new = data.draw(st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH"]))
    elif field == "path":
        new = r.path + data.draw(st.sampled_from(["x", "/", "."]))
    elif field == "query":
        new = data.draw(queries.filter(lambda q: q != r.query))
        if {new, r.query} <= {""}:
            return None
    elif field == "request_id":
        new = data.draw(st.one_of(st.just(""), tokens))
    elif field == "body_sha256":
        new = data.draw(st.one_of(st.just("-"), st.binary(min_size=1).map(lambda b: hashlib.sha256(b).hexdigest())))
    else:  # one hex digit of the signature
        mac = r.signature[3:]
        i = data.draw(st.integers(0, len(mac) - 1))
        digit = data.draw(st.sampled_from("0123456789abcdef").filter(lambda d: d != mac[i].lower()))
        new = "v1=" + mac[:i] + digit + mac[i + 1:]
    if new == getattr(r, field):
        return None
    fields = r.__dict__ | {field: new}
    return SignedRequest(**fields)


@PROFILE
@given(secret=secrets, request=signed_requests, data=st.data(),
       field=st.sampled_from(["timestamp", "method", "path", "query", "request_id", "body_sha256",
                              "signature"]))
def test_every_single_field_tamper_is_rejected(secret, request, data, field):
    good = signed_by(secret, request)
    bad = _tampered(good, field, data)
    assume(bad is not None)
    try:
        verify(secret, bad, int(request.timestamp))
    except AuthenticationFailed:
        return
    raise AssertionError(f"tampered {field} verified: {bad}")


@PROFILE
@given(secret=secrets, other=secrets, request=signed_requests)
def test_another_secret_is_rejected(secret, other, request):
    assume(secret != other)
    try:
        verify(other, signed_by(secret, request), int(request.timestamp))
    except AuthenticationFailed:
        return
    raise AssertionError("verified with the wrong secret")


@PROFILE
@given(secret=secrets, request=signed_requests, skew=st.integers(301, 10**6), sign=st.sampled_from([-1, 1]))
def test_a_timestamp_outside_the_window_is_401_even_when_signed(secret, request, skew, sign):
    try:
        verify(secret, signed_by(secret, request), int(request.timestamp) + sign * skew)
    except AuthenticationFailed:
        return
    raise AssertionError("a stale timestamp verified")


@PROFILE
@given(secret=secrets, body=st.binary(min_size=1, max_size=300), tenant=tokens, engine=engines,
       instance=tokens, kind=st.sampled_from(["full", "delta"]), a=cursors, gap=st.integers(1, 10**6),
       encoding=st.sampled_from(list(Encoding)), rid=tokens)
def test_a_built_persist_request_passes_both_gates(secret, body, tenant, engine, instance, kind, a,
                                                   gap, encoding, rid):
    """signed_requests.persist_request -> admit_persist -> check_body: the round trip a real
    engine and function make, for any legal identifiers, cursors and encoding."""
    assume(a.seq + gap <= 10**12 - 1)
    to = Cursor(a.epoch, a.seq + gap)
    req = sr.persist_request(secret=secret, body=body, now=NOW, request_id=rid, engine=engine,
                             tenant=tenant, instance_id=instance, strategy="incremental", kind=kind,
                             cursor_from=a if kind == "delta" else None, cursor_to=to,
                             encoding=encoding)
    h = rules.admit_persist(req.headers, now=NOW, inflight=0, limits=rules.Limits())
    assert (h.tenant, h.engine, h.instance_id, h.cursor_to, h.encoding) == (tenant, engine, instance, to, encoding)
    rules.check_body(h, secret=secret, path=req.path, query=req.query, body_sha256=body_digest(body),
                     body_length=len(body), limits=rules.Limits())


@PROFILE
@given(secret=secrets, tenant=tokens, engine=engines, instance=tokens, rid=tokens,
       up_to=st.one_of(st.none(), cursors), full_only=st.booleans(), takeover=st.booleans())
def test_a_built_restore_request_parses_and_verifies(secret, tenant, engine, instance, rid, up_to,
                                                     full_only, takeover):
    req = sr.restore_request(secret=secret, now=NOW, request_id=rid, engine=engine, tenant=tenant,
                             instance_id=instance, up_to=up_to, full_only=full_only, takeover=takeover)
    query = dict(p.split("=", 1) for p in req.query.split("&"))
    q = RestoreQuery.from_query(query)
    assert (q.tenant, q.engine, q.up_to, q.full_only, q.takeover) == (tenant, engine, up_to, full_only, takeover)
    h = RestoreHeaders.from_headers(req.headers, q)
    verify(secret, SignedRequest("GET", req.path, req.query, str(h.timestamp), h.request_id, "-",
                                 h.signature), NOW)


# ---------------------------------------------------------------- malformed input is 4xx, never a crash

header_names = st.sampled_from([n.PROTOCOL, n.ENGINE, n.VERSION, n.TENANT, n.INSTANCE_ID, n.STRATEGY,
                                n.SNAPSHOT_KIND, n.CURSOR_FROM, n.CURSOR_TO, n.CHECKSUM, n.TIMESTAMP,
                                n.REQUEST_ID, n.SIGNATURE, n.PART, "Content-Encoding", "Content-Length"])
header_values = st.one_of(st.text(max_size=30), st.sampled_from(
    ["", "v1", "wkc_0000_0001", "wkc_00001_0001", "1/0", "0/1", "9999/9999", "10000/10000", "²",
     "٣", "sha256=" + "a" * 64, "sha256=" + "A" * 64, "delta", "full", "zstd", "GZIP", "-1", "1e3"]),
    # more digits than int() converts (4300): a 400 like any other bad number, never a crash
    st.sampled_from(["9" * 5000, "9" * 5000 + "/1", "1/" + "9" * 5000, "wkc_0000_" + "9" * 5000]))


def _valid_persist_headers(secret="s") -> dict:
    req = sr.persist_request(secret=secret, body=b"x", now=NOW, request_id="r-1", engine="vector",
                             tenant="default", instance_id="i-1", strategy="incremental",
                             kind="delta", cursor_from=Cursor(0, 1), cursor_to=Cursor(0, 2),
                             encoding=Encoding.ZSTD)
    return dict(req.headers)


@PROFILE
@given(changes=st.dictionaries(header_names, st.one_of(st.none(), header_values), max_size=5))
def test_persist_header_mutations_are_accepted_or_a_protocol_error(changes):
    """A malformed request must be answered 400/401/413 (a ProtocolError), never crash the gate."""
    headers = _valid_persist_headers()
    for name, value in changes.items():
        if value is None:
            headers.pop(name, None)
        else:
            headers[name] = value
    try:
        rules.admit_persist(headers, now=NOW, inflight=0, limits=rules.Limits())
    except ProtocolError as exc:
        assert 400 <= exc.status_hint < 500


@PROFILE
@given(query=st.dictionaries(st.sampled_from(["tenant", "engine", "cursor", "latest", "strategy",
                                               "takeover"]), header_values, max_size=6),
       headers=st.dictionaries(header_names, header_values, max_size=6))
def test_restore_and_health_parsing_is_accepted_or_a_protocol_error(query, headers):
    for parse in (lambda: RestoreHeaders.from_headers(headers, RestoreQuery.from_query(query)),
                  lambda: HealthHeaders.from_headers(headers),
                  lambda: PersistHeaders.from_headers(headers)):
        try:
            parse()
        except ProtocolError as exc:
            assert exc.status_hint == 400
