"""docs/signing-example.md is checked value by value against the code.

The page's tables hold JSON string literals in backticks; every row is
recomputed here twice, with emulator.protocol and with plain hashlib/hmac,
and the request blocks are rebuilt with signed_requests, so the page, the
signer and the verifier cannot drift apart.
"""
import hashlib
import hmac
import json
import re
from pathlib import Path

import pytest

from emulator.protocol import signed_requests as sr
from emulator.protocol import signing
from emulator.protocol.codec import Encoding
from emulator.protocol.cursor import Cursor
from emulator.protocol.errors import AuthenticationFailed
from emulator.protocol.signing import SignedRequest, verify

PAGE = Path(__file__).resolve().parents[2] / "docs" / "signing-example.md"
_ROW = re.compile(r'^\| ([^|`]+?) \| `("(?:[^"\\]|\\.)*")` \|$', re.M)
_FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.M | re.S)


def _rows(text: str) -> dict[str, str]:
    rows = {}
    for name, literal in _ROW.findall(text):
        assert name not in rows, f"row {name!r} appears twice in one section"
        rows[name] = json.loads(literal)
    return rows


def _sections() -> tuple[dict[str, str], dict[str, str]]:
    text = PAGE.read_text(encoding="utf-8")
    head, *examples = re.split(r"^## (?=Example \d)", text, flags=re.M)
    parsed = {}
    for example in examples:
        title = example.splitlines()[0]
        parsed[title] = example
    return _rows(head), parsed


PREAMBLE, EXAMPLES = _sections()
SECRET = PREAMBLE["secret"]


def example(prefix: str) -> tuple[dict[str, str], dict[str, list[str]]]:
    (body,) = [text for title, text in EXAMPLES.items() if title.startswith(prefix)]
    fences: dict[str, list[str]] = {}
    for lang, content in _FENCE.findall(body):
        fences.setdefault(lang, []).append(content)
    return _rows(body), fences


def test_page_has_the_three_examples():
    assert [t.split(":")[0] for t in EXAMPLES] == ["Example 1", "Example 2", "Example 3"]
    assert SECRET == "wkp-example-secret"


@pytest.fixture(params=["Example 1", "Example 2", "Example 3"])
def vector(request):
    return example(request.param)


def test_every_intermediate_value(vector):
    rows, _ = vector
    body = rows["body"].encode()
    digest = hashlib.sha256(body).hexdigest() if body else "-"
    assert rows["body sha256"] == digest == signing.body_digest(body)

    lines = ["v1", rows["timestamp"], rows["request id"], rows["method"],
             rows["path"] + "?" + rows["query"], digest]
    assert [rows[f"line {i}"] for i in range(1, 7)] == lines

    canonical = "\n".join(lines)
    assert rows["canonical string"] == canonical
    assert signing.canonical_string(timestamp=rows["timestamp"], request_id=rows["request id"],
                                    method=rows["method"], path=rows["path"], query=rows["query"],
                                    body_sha256=digest) == canonical

    mac = hmac.new(SECRET.encode(), canonical.encode(), hashlib.sha256).hexdigest()
    assert rows["hmac-sha256 hex"] == mac
    assert rows["X-WeftKit-Signature"] == f"v1={mac}" == signing.sign(SECRET, canonical)
    assert signing.sign_request(SECRET, timestamp=rows["timestamp"], request_id=rows["request id"],
                                method=rows["method"], path=rows["path"], query=rows["query"],
                                body_sha256=digest) == f"v1={mac}"


def _as_received(rows) -> SignedRequest:
    body = rows["body"].encode()
    return SignedRequest(rows["method"], rows["path"], rows["query"], rows["timestamp"],
                         rows["request id"], signing.body_digest(body), rows["X-WeftKit-Signature"])


def test_verifier_accepts_the_example_and_refuses_any_change(vector):
    rows, _ = vector
    now = int(rows["timestamp"]) + 50
    request = _as_received(rows)
    verify(SECRET, request, now)
    changes = {"method": "PUT", "path": rows["path"] + "x", "query": "x=1",
               "timestamp": str(int(rows["timestamp"]) + 1), "request_id": "other-id",
               "body_sha256": hashlib.sha256(rows["body"].encode() + b"!").hexdigest()}
    for field, value in changes.items():
        fields = {f: getattr(request, f) for f in SignedRequest.__dataclass_fields__}
        fields[field] = value
        with pytest.raises(AuthenticationFailed):
            verify(SECRET, SignedRequest(**fields), now)
    with pytest.raises(AuthenticationFailed):  # right signature, stale clock
        verify(SECRET, request, int(rows["timestamp"]) + 301)
    with pytest.raises(AuthenticationFailed):
        verify(SECRET + "x", request, now)


def test_shell_recipe_signs_the_same_string(vector):
    rows, fences = vector
    (recipe,) = [block for block in fences["sh"] if "openssl" in block]
    printed = re.findall(r"printf '([^']*)'", recipe)
    assert rows["canonical string"] in [p.replace("\\n", "\n") for p in printed]
    assert f"-hmac {SECRET}" in recipe


def _http_block(fences) -> tuple[str, list[tuple[str, str]], str]:
    (block,) = fences["http"]
    head, _, body = block.partition("\n\n")
    request_line, *header_lines = head.splitlines()
    headers = [tuple(line.split(": ", 1)) for line in header_lines]
    return request_line, headers, body.rstrip("\n")


def _check_request_block(fences, built: sr.OutgoingRequest, body: bytes = b""):
    request_line, headers, block_body = _http_block(fences)
    assert request_line == f"{built.method} {built.target} HTTP/1.1"
    assert headers == list(built.headers.items())
    assert block_body.encode() == body


def test_persist_request_block_is_what_the_builder_sends():
    rows, fences = example("Example 1")
    _, headers, _ = _http_block(fences)
    sent = dict(headers)
    built = sr.persist_request(
        secret=SECRET, body=rows["body"].encode(), now=int(rows["timestamp"]),
        request_id=rows["request id"], engine=sent["X-WeftKit-Engine"],
        tenant=sent["X-WeftKit-Tenant"], instance_id=sent["X-WeftKit-Instance-Id"],
        strategy=sent["X-WeftKit-Strategy"], kind=sent["X-WeftKit-Snapshot-Kind"],
        cursor_from=Cursor.parse(sent["X-WeftKit-Cursor-From"]),
        cursor_to=Cursor.parse(sent["X-WeftKit-Cursor-To"]),
        encoding=Encoding.from_header(sent["Content-Encoding"]), version=sent["X-WeftKit-Version"])
    _check_request_block(fences, built, rows["body"].encode())
    assert built.headers["X-WeftKit-Signature"] == rows["X-WeftKit-Signature"]
    assert built.headers["X-WeftKit-Checksum"] == "sha256=" + rows["body sha256"]
    assert built.headers["Content-Encoding"] == "identity"


def test_restore_request_block_is_what_the_builder_sends():
    rows, fences = example("Example 2")
    _, headers, _ = _http_block(fences)
    sent = dict(headers)
    built = sr.restore_request(secret=SECRET, now=int(rows["timestamp"]),
                               request_id=rows["request id"], engine=sent["X-WeftKit-Engine"],
                               tenant=sent["X-WeftKit-Tenant"],
                               instance_id=sent["X-WeftKit-Instance-Id"])
    assert built.query == rows["query"]
    _check_request_block(fences, built)
    assert built.headers["X-WeftKit-Signature"] == rows["X-WeftKit-Signature"]


def test_health_request_block_is_what_the_builder_sends():
    rows, fences = example("Example 3")
    built = sr.health_request(secret=SECRET, now=int(rows["timestamp"]))
    _check_request_block(fences, built)
    assert built.headers["X-WeftKit-Signature"] == rows["X-WeftKit-Signature"]
    assert "X-WeftKit-Request-Id" not in built.headers


def test_the_page_parser_sees_every_row():
    """Guard the guard: a reformatted table must not silently drop rows."""
    expected = {"method", "path", "query", "timestamp", "request id", "body", "body sha256",
                "canonical string", "hmac-sha256 hex", "X-WeftKit-Signature",
                *(f"line {i}" for i in range(1, 7))}
    for title in EXAMPLES:
        rows, fences = example(title.split(":")[0])
        assert set(rows) == expected, title
        assert "http" in fences and "sh" in fences, title
    table_rows = re.findall(r"^\| (?!name\b|-)[^|]+\|", PAGE.read_text(encoding="utf-8"), re.M)
    assert len(table_rows) == 1 + 3 * len(expected)  # the secret + every example row
