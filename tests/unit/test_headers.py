"""Header models: the seed's example parses; every bad header is a 400 naming it."""
import hashlib
from urllib.parse import parse_qsl

import pytest
from multidict import CIMultiDict

from emulator.protocol import names as n
from emulator.protocol.codec import Encoding
from emulator.protocol.cursor import Cursor
from emulator.protocol.errors import MalformedRequest
from emulator.protocol.headers import (HealthHeaders, Part, PersistHeaders, RestoreHeaders,
                                       RestoreQuery, RestoreResponse, parse_checksum)

HEX = hashlib.sha256(b"body").hexdigest()

# Seed 000's example request, with its placeholders filled in.
SEED_PERSIST = {
    "Host": "persist.example.com",
    "Content-Type": "application/octet-stream",
    "Content-Encoding": "zstd",
    "Content-Length": "1234",
    "X-WeftKit-Protocol": "v1",
    "X-WeftKit-Engine": "relational",
    "X-WeftKit-Version": "0.1.0",
    "X-WeftKit-Tenant": "default",
    "X-WeftKit-Instance-Id": "5d7e3c6b-2b05-43d5-9bb7-ec3d0d3bfb46",
    "X-WeftKit-Strategy": "incremental",
    "X-WeftKit-Snapshot-Kind": "delta",
    "X-WeftKit-Cursor-From": "wkc_0000_0018",
    "X-WeftKit-Cursor-To": "wkc_0000_0024",
    "X-WeftKit-Checksum": f"sha256={HEX}",
    "X-WeftKit-Timestamp": "1711999200",
    "X-WeftKit-Request-Id": "2b28f8c8-1b2a-4c5b-8c40-3f1d8d52f012",
    "X-WeftKit-Signature": "v1=" + "0" * 64,
}


def with_(**changes) -> dict:
    """SEED_PERSIST with headers replaced (value) or removed (None); keys use _ for -."""
    out = dict(SEED_PERSIST)
    for key, value in changes.items():
        name = key.replace("_", "-")
        if value is None:
            out.pop(name, None)
        else:
            out[name] = value
    return out


def rejects(headers: dict, header: str) -> MalformedRequest:
    with pytest.raises(MalformedRequest) as info:
        PersistHeaders.from_headers(headers)
    assert info.value.status_hint == 400
    assert info.value.header == header, info.value.reason
    return info.value


def test_seed_example_request_parses():
    h = PersistHeaders.from_headers(SEED_PERSIST)
    assert (h.engine, h.version, h.tenant, h.strategy, h.kind) == (
        "relational", "0.1.0", "default", "incremental", "delta")
    assert h.instance_id == "5d7e3c6b-2b05-43d5-9bb7-ec3d0d3bfb46"
    assert (h.cursor_from, h.cursor_to) == (Cursor(0, 18), Cursor(0, 24))
    assert h.checksum == HEX
    assert h.timestamp == 1711999200
    assert h.request_id == "2b28f8c8-1b2a-4c5b-8c40-3f1d8d52f012"
    assert h.signature == "v1=" + "0" * 64
    assert h.encoding is Encoding.ZSTD
    assert h.content_length == 1234
    assert h.part is None


REQUIRED = [n.PROTOCOL, n.ENGINE, n.VERSION, n.TENANT, n.INSTANCE_ID, n.STRATEGY, n.SNAPSHOT_KIND,
            n.CURSOR_FROM, n.CURSOR_TO, n.CHECKSUM, n.TIMESTAMP, n.REQUEST_ID]


@pytest.mark.parametrize("header", REQUIRED)
@pytest.mark.parametrize("how", ["missing", "empty"])
def test_each_required_header_missing_is_named(header, how):
    headers = dict(SEED_PERSIST)
    if how == "missing":
        del headers[header]
    else:
        headers[header] = ""
    rejects(headers, header)


def test_optional_headers_may_be_absent():
    h = PersistHeaders.from_headers(with_(**{"Content-Encoding": None, "Content-Length": None,
                                            "X-WeftKit-Signature": None, "Host": None,
                                            "Content-Type": None}))
    assert h.encoding is Encoding.NONE  # no Content-Encoding means identity
    assert h.content_length is None
    assert h.signature == ""  # admit_persist turns this into a 401, not a 400


INVALID = [
    (n.PROTOCOL, "v2"), (n.PROTOCOL, "V1"), (n.PROTOCOL, "1"),
    (n.ENGINE, "Relational"), (n.ENGINE, "rel/ational"), (n.ENGINE, "1db"), (n.ENGINE, "e" * 33),
    (n.ENGINE, "rel ational"),
    (n.VERSION, "../0.1"), (n.VERSION, " 0.1.0"), (n.VERSION, "0.1.0/x"), (n.VERSION, "v" * 65),
    (n.STRATEGY, "nightly"), (n.STRATEGY, "Full"),
    (n.SNAPSHOT_KIND, "snapshot"), (n.SNAPSHOT_KIND, "incremental"), (n.SNAPSHOT_KIND, "FULL"),
    (n.CURSOR_FROM, "wkc_18"), (n.CURSOR_FROM, "wkc_0000_00018"),
    (n.CURSOR_TO, "wkc_0000_24"), (n.CURSOR_TO, "24"),
    (n.CHECKSUM, HEX), (n.CHECKSUM, f"md5={HEX}"), (n.CHECKSUM, f"sha256={HEX.upper()}"),
    (n.CHECKSUM, f"sha256={HEX[:-1]}"), (n.CHECKSUM, f"sha256={HEX}0"), (n.CHECKSUM, "sha256="),
    (n.TIMESTAMP, "soon"), (n.TIMESTAMP, "1711999200.0"), (n.TIMESTAMP, "-5"),
    (n.TIMESTAMP, "01711999200"),
    (n.REQUEST_ID, "has space"), (n.REQUEST_ID, "-leading"), (n.REQUEST_ID, "a/b"),
    (n.REQUEST_ID, "r" * 129), (n.REQUEST_ID, "a\nb"),
    ("Content-Encoding", "br"), ("Content-Encoding", "deflate"), ("Content-Encoding", "zstd, gzip"),
    ("Content-Length", "12a"), ("Content-Length", "-1"), ("Content-Length", ""),
    ("Content-Length", "\u00b2"), ("Content-Length", "\u0661\u0662"),
    (n.PART, "0/2"), (n.PART, "3/2"), (n.PART, "a/b"), (n.PART, "1"), (n.PART, "1/10000"),
    (n.PART, "1/\u00b2"), (n.PART, "\u0661/2"), (n.PART, "1/2/3"), (n.PART, "-1/2"),
]


@pytest.mark.parametrize("header, value", INVALID)
def test_each_invalid_header_is_named(header, value):
    rejects({**SEED_PERSIST, header: value}, header)


ESCAPES = ["..", "a/b", "/abs", ".hidden", "", "x" * 200, "tenänt", "a\x00b", "a..b", "a\\b",
           " a", "a\n", "%2e%2e", "a b", "ü", "\u202eevil", "a:b", "~user", "-dash"]


@pytest.mark.parametrize("header", [n.TENANT, n.ENGINE, n.INSTANCE_ID])
@pytest.mark.parametrize("value", ESCAPES)
def test_identifiers_cannot_escape_their_subtree(header, value):
    rejects({**SEED_PERSIST, header: value}, header)


@pytest.mark.parametrize("header, value", [
    (n.TENANT, "acme.prod_eu-1"), (n.TENANT, "A" * 64), (n.TENANT, "a."),
    (n.INSTANCE_ID, "i" * 128), (n.INSTANCE_ID, "pod-7.replica_2"),
    (n.ENGINE, "e" * 32), (n.ENGINE, "my-engine2"),
])
def test_identifier_limits_accept_what_they_should(header, value):
    PersistHeaders.from_headers({**SEED_PERSIST, header: value})


@pytest.mark.parametrize("header, value", [(n.TENANT, "A" * 65), (n.INSTANCE_ID, "i" * 129)])
def test_identifier_length_limits(header, value):
    rejects({**SEED_PERSIST, header: value}, header)


class TestCursors:
    def test_delta_from_must_be_before_to(self):
        rejects(with_(**{n.CURSOR_FROM: "wkc_0000_0024"}), n.CURSOR_FROM)
        rejects(with_(**{n.CURSOR_FROM: "wkc_0000_0030"}), n.CURSOR_FROM)

    def test_delta_cannot_cross_epochs(self):
        err = rejects(with_(**{n.CURSOR_FROM: "wkc_0000_0018", n.CURSOR_TO: "wkc_0001_0024"}),
                      n.CURSOR_TO)
        assert "epoch" in err.reason

    def test_delta_within_a_later_epoch(self):
        h = PersistHeaders.from_headers(with_(**{n.CURSOR_FROM: "wkc_0002_0018",
                                                 n.CURSOR_TO: "wkc_0002_10000"}))
        assert h.cursor_to == Cursor(2, 10000)

    @pytest.mark.parametrize("cursor_from", [None, ""])
    def test_full_allows_no_cursor_from(self, cursor_from):
        h = PersistHeaders.from_headers(with_(**{n.SNAPSHOT_KIND: "full", n.CURSOR_FROM: cursor_from}))
        assert h.kind == "full" and h.cursor_from is None and h.cursor_to == Cursor(0, 24)

    def test_full_may_name_where_it_started_but_not_after_its_end(self):
        h = PersistHeaders.from_headers(with_(**{n.SNAPSHOT_KIND: "full"}))
        assert h.cursor_from == Cursor(0, 18)
        PersistHeaders.from_headers(with_(**{n.SNAPSHOT_KIND: "full", n.CURSOR_FROM: "wkc_0000_0024"}))
        rejects(with_(**{n.SNAPSHOT_KIND: "full", n.CURSOR_FROM: "wkc_0000_0025"}), n.CURSOR_FROM)

    def test_cursor_error_names_the_header_in_reason(self):
        err = rejects(with_(**{n.CURSOR_TO: "bogus"}), n.CURSOR_TO)
        assert n.CURSOR_TO in err.reason


class TestPart:
    @pytest.mark.parametrize("value, part", [("1/2", Part(1, 2)), ("2/2", Part(2, 2)),
                                             ("1/1", Part(1, 1)), ("9999/9999", Part(9999, 9999)),
                                             ("01/02", Part(1, 2)), (None, None), ("", None)])
    def test_parse(self, value, part):
        assert Part.parse(value) == part

    def test_str_round_trip(self):
        assert str(Part(3, 7)) == "3/7"
        assert Part.parse(str(Part(3, 7))) == Part(3, 7)

    def test_persist_carries_the_part(self):
        assert PersistHeaders.from_headers({**SEED_PERSIST, n.PART: "2/3"}).part == Part(2, 3)


class TestCaseInsensitive:
    def test_lower_case_dict(self):
        lowered = {k.lower(): v for k, v in SEED_PERSIST.items()}
        assert PersistHeaders.from_headers(lowered) == PersistHeaders.from_headers(SEED_PERSIST)

    def test_upper_case_dict(self):
        upper = {k.upper(): v for k, v in SEED_PERSIST.items()}
        assert PersistHeaders.from_headers(upper) == PersistHeaders.from_headers(SEED_PERSIST)

    def test_multidict_as_http_libraries_give(self):
        md = CIMultiDict((k.lower(), v) for k, v in SEED_PERSIST.items())
        assert PersistHeaders.from_headers(md) == PersistHeaders.from_headers(SEED_PERSIST)

    def test_content_encoding_token_case(self):
        for value, enc in [("ZSTD", Encoding.ZSTD), ("Gzip", Encoding.GZIP),
                           ("IDENTITY", Encoding.NONE), (" identity ", Encoding.NONE)]:
            assert PersistHeaders.from_headers({**SEED_PERSIST, "Content-Encoding": value}).encoding is enc


class TestRoundTrip:
    @pytest.mark.parametrize("encoding", list(Encoding))
    @pytest.mark.parametrize("changes", [
        {},
        {n.SNAPSHOT_KIND: "full", n.CURSOR_FROM: None},
        {n.SNAPSHOT_KIND: "full", n.STRATEGY: "full"},
        {n.PART: "2/5"},
        {n.CURSOR_FROM: "wkc_0007_9999", n.CURSOR_TO: "wkc_0007_123456"},
    ])
    def test_to_headers_from_headers(self, encoding, changes):
        headers = with_(**changes, **{"Content-Length": None, "Content-Encoding": encoding.header})
        h = PersistHeaders.from_headers(headers)
        out = h.to_headers()
        assert PersistHeaders.from_headers(out) == h
        assert out["Content-Encoding"] == encoding.header
        # what to_headers emits is exactly the request's WKP-1 headers
        for name, value in headers.items():
            if name.startswith("X-WeftKit-"):
                assert out[name] == value, name

    def test_content_length_is_not_part_of_to_headers(self):
        h = PersistHeaders.from_headers(SEED_PERSIST)
        assert "Content-Length" not in h.to_headers()


def test_parse_checksum():
    assert parse_checksum(f"sha256={HEX}") == HEX
    with pytest.raises(MalformedRequest) as info:
        parse_checksum(None)
    assert info.value.header == n.CHECKSUM


class TestRestoreQuery:
    BASE = {"tenant": "default", "engine": "relational", "cursor": "", "latest": "true"}

    def test_seed_query_means_latest(self):
        q = RestoreQuery.from_query(self.BASE)
        assert q == RestoreQuery("default", "relational", None, False, False)

    def test_cursor_means_point_in_time(self):
        q = RestoreQuery.from_query({**self.BASE, "cursor": "wkc_0000_0020", "latest": "false"})
        assert q.up_to == Cursor(0, 20)
        assert RestoreQuery.from_query({"tenant": "t", "engine": "graph",
                                        "cursor": "wkc_0000_0020"}).up_to == Cursor(0, 20)

    def test_latest_true_with_cursor_is_contradictory(self):
        with pytest.raises(MalformedRequest) as info:
            RestoreQuery.from_query({**self.BASE, "cursor": "wkc_0000_0020"})
        assert info.value.header == "latest"

    def test_minimal_query(self):
        assert RestoreQuery.from_query({"tenant": "t", "engine": "graph"}).up_to is None

    def test_strategy_full_and_takeover(self):
        q = RestoreQuery.from_query({**self.BASE, "strategy": "full", "takeover": "newest"})
        assert q.full_only and q.takeover
        assert not RestoreQuery.from_query({**self.BASE, "strategy": "incremental"}).full_only

    @pytest.mark.parametrize("key, value", [
        ("cursor", "wkc_1"), ("latest", "yes"), ("latest", "True"), ("strategy", "everything"),
        ("takeover", "oldest"), ("takeover", "true"), ("tenant", ""), ("tenant", "../x"),
        ("engine", "Relational"), ("engine", "a/b"), ("tenant", "a\x00"),
    ])
    def test_bad_parameters_are_named(self, key, value):
        with pytest.raises(MalformedRequest) as info:
            RestoreQuery.from_query({**self.BASE, key: value})
        assert info.value.header == key
        assert info.value.status_hint == 400

    @pytest.mark.parametrize("missing", ["tenant", "engine"])
    def test_tenant_and_engine_required(self, missing):
        query = dict(self.BASE)
        del query[missing]
        with pytest.raises(MalformedRequest) as info:
            RestoreQuery.from_query(query)
        assert info.value.header == missing

    @pytest.mark.parametrize("q", [
        RestoreQuery("default", "relational", None, False, False),
        RestoreQuery("default", "relational", Cursor(3, 12345), False, False),
        RestoreQuery("t1", "vector", None, True, True),
        RestoreQuery("t1", "vector", Cursor(0, 0), True, False),
    ])
    def test_to_query_round_trip(self, q):
        text = q.to_query()
        assert RestoreQuery.from_query(dict(parse_qsl(text, keep_blank_values=True))) == q

    def test_to_query_spells_the_seed_form(self):
        q = RestoreQuery("default", "relational", None, False, False)
        assert q.to_query() == "tenant=default&engine=relational&cursor=&latest=true"


class TestRestoreHeaders:
    QUERY = RestoreQuery("default", "relational", None, False, False)
    SEED = {"X-WeftKit-Protocol": "v1", "X-WeftKit-Engine": "relational",
            "X-WeftKit-Instance-Id": "5d7e3c6b-2b05-43d5-9bb7-ec3d0d3bfb46",
            "X-WeftKit-Timestamp": "1711999300",
            "X-WeftKit-Request-Id": "7f3e2a11-09b0-4d74-95b6-1f0a7d7c3b60",
            "X-WeftKit-Signature": "v1=" + "1" * 64}

    def test_seed_example(self):
        h = RestoreHeaders.from_headers(self.SEED, self.QUERY)
        assert (h.engine, h.timestamp, h.request_id) == (
            "relational", 1711999300, "7f3e2a11-09b0-4d74-95b6-1f0a7d7c3b60")

    @pytest.mark.parametrize("header", [n.PROTOCOL, n.ENGINE, n.INSTANCE_ID, n.TIMESTAMP, n.REQUEST_ID])
    def test_required(self, header):
        headers = {k: v for k, v in self.SEED.items() if k != header}
        with pytest.raises(MalformedRequest) as info:
            RestoreHeaders.from_headers(headers, self.QUERY)
        assert info.value.header == header

    def test_engine_must_match_query(self):
        with pytest.raises(MalformedRequest) as info:
            RestoreHeaders.from_headers({**self.SEED, n.ENGINE: "vector"}, self.QUERY)
        assert info.value.header == n.ENGINE

    def test_tenant_header_optional_but_must_match(self):
        RestoreHeaders.from_headers({**self.SEED, n.TENANT: "default"}, self.QUERY)
        with pytest.raises(MalformedRequest) as info:
            RestoreHeaders.from_headers({**self.SEED, n.TENANT: "other"}, self.QUERY)
        assert info.value.header == n.TENANT


class TestHealthHeaders:
    def test_seed_example_has_no_request_id(self):
        h = HealthHeaders.from_headers({"X-WeftKit-Protocol": "v1", "X-WeftKit-Timestamp": "1711999300",
                                        "X-WeftKit-Signature": "v1=" + "2" * 64})
        assert (h.timestamp, h.request_id) == (1711999300, "")

    def test_request_id_if_sent_is_validated(self):
        base = {"X-WeftKit-Protocol": "v1", "X-WeftKit-Timestamp": "1"}
        assert HealthHeaders.from_headers({**base, n.REQUEST_ID: "probe-1"}).request_id == "probe-1"
        with pytest.raises(MalformedRequest) as info:
            HealthHeaders.from_headers({**base, n.REQUEST_ID: "bad id"})
        assert info.value.header == n.REQUEST_ID

    @pytest.mark.parametrize("header", [n.PROTOCOL, n.TIMESTAMP])
    def test_required(self, header):
        headers = {n.PROTOCOL: "v1", n.TIMESTAMP: "1"}
        del headers[header]
        with pytest.raises(MalformedRequest) as info:
            HealthHeaders.from_headers(headers)
        assert info.value.header == header


class TestRestoreResponse:
    @pytest.mark.parametrize("resp", [
        RestoreResponse(Cursor(0, 24), HEX, Encoding.ZSTD),
        RestoreResponse(Cursor(1, 10000), HEX, Encoding.GZIP, deltas=3, lineage="old-pod"),
        RestoreResponse(Cursor(0, 1), HEX, Encoding.NONE, deltas=0),
    ])
    def test_round_trip(self, resp):
        out = resp.to_headers()
        assert out[n.SNAPSHOT_KIND] == "full"
        assert RestoreResponse.from_headers(out) == resp

    def test_seed_example_response(self):
        resp = RestoreResponse.from_headers({"Content-Type": "application/octet-stream",
                                             "Content-Encoding": "zstd", n.CURSOR: "wkc_0000_0024",
                                             n.CHECKSUM: f"sha256={HEX}", n.SNAPSHOT_KIND: "full"})
        assert resp == RestoreResponse(Cursor(0, 24), HEX, Encoding.ZSTD)

    def test_odd_deltas_header_is_ignored_not_a_crash(self):
        headers = {**RestoreResponse(Cursor(0, 24), HEX, Encoding.ZSTD).to_headers(), n.DELTAS: "\u00b2"}
        assert RestoreResponse.from_headers(headers).deltas == 0
