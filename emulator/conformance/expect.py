"""Checks on replies. Each raises ClauseFailed with a reason naming the request,
what the contract expects and what came back, so one line says it all."""
from __future__ import annotations

import hashlib
from email.utils import parsedate_to_datetime

from emulator.protocol import names
from emulator.protocol.codec import Encoding
from emulator.protocol.cursor import Cursor
from emulator.protocol.errors import MalformedRequest

from .client import Reply
from .model import ClauseFailed

STORED_AT_SLACK_S = 24 * 3600  # stored_at is unix seconds "now"; ms or garbage is far off


def failure(reply: Reply, expected: str, got: str | None = None) -> ClauseFailed:
    return ClauseFailed(f"{reply.request_line}: expected {expected}, got {got or reply.summary()}")


def status(reply: Reply, *codes: int) -> None:
    if reply.status not in codes:
        raise failure(reply, " or ".join(map(str, codes)))


def accepted(reply: Reply) -> None:
    status(reply, 200, 202)


def persist_answer(reply: Reply, cursor: Cursor, now: int) -> None:
    """200/202 with JSON {"cursor": <Cursor-To>, "stored_at": <unix seconds>}."""
    accepted(reply)
    try:
        data = reply.json()
    except (ValueError, UnicodeDecodeError):
        raise failure(reply, 'a JSON body {"cursor": ..., "stored_at": ...}') from None
    if not isinstance(data, dict):
        raise failure(reply, "a JSON object")
    if data.get("cursor") != str(cursor):
        raise failure(reply, f'"cursor": "{cursor}" (the pushed Cursor-To)',
                      f'"cursor": {data.get("cursor")!r}')
    stored_at = data.get("stored_at")
    if not isinstance(stored_at, int) or isinstance(stored_at, bool):
        raise failure(reply, '"stored_at" as an integer', f'"stored_at": {stored_at!r}')
    if abs(stored_at - now) > STORED_AT_SLACK_S:
        raise failure(reply, f'"stored_at" in unix seconds near {now}', f'"stored_at": {stored_at}')


def nothing_stored(reply: Reply, refused: str) -> None:
    """After a refused push, a restore of that instance must still find nothing."""
    if reply.status != 204:
        raise ClauseFailed(f"{refused} was refused, but then {reply.request_line} answered "
                           f"{reply.summary()} (expected 204: the refused push must not be stored)")


def reply_encoding(reply: Reply) -> Encoding:
    value = reply.header("Content-Encoding")
    try:
        return Encoding.from_header(value)
    except MalformedRequest:
        raise failure(reply, "Content-Encoding zstd, gzip or identity",
                      f"Content-Encoding {value!r}") from None


def decoded(reply: Reply) -> bytes:
    """The body decoded by its Content-Encoding, reading across frames/members."""
    try:
        return reply_encoding(reply).decompress(reply.body)
    except MalformedRequest as exc:
        raise failure(reply, f"a body that decodes as {reply.header('Content-Encoding')}",
                      exc.reason) from None


def checksum(reply: Reply) -> None:
    """X-WeftKit-Checksum: sha256=<hex of the body as received>."""
    value = reply.header(names.CHECKSUM) or ""
    want = hashlib.sha256(reply.body).hexdigest()
    algo, _, hexdigest = value.partition("=")
    if algo != "sha256" or hexdigest.lower() != want:
        raise failure(reply, f"{names.CHECKSUM}: sha256={want} (the body as received)",
                      f"{names.CHECKSUM}: {value or '(absent)'}")


def cursor(reply: Reply, want: Cursor) -> None:
    got = reply.header(names.CURSOR)
    if got != str(want):
        raise failure(reply, f"{names.CURSOR}: {want}", f"{names.CURSOR}: {got or '(absent)'}")


def snapshot_kind(reply: Reply) -> None:
    kind = reply.header(names.SNAPSHOT_KIND)
    if kind not in names.SNAPSHOT_KINDS:
        raise failure(reply, f"{names.SNAPSHOT_KIND}: full or delta",
                      f"{names.SNAPSHOT_KIND}: {kind or '(absent)'}")


def encoding(reply: Reply, want: Encoding) -> None:
    if reply_encoding(reply) is not want:
        raise failure(reply, f"Content-Encoding: {want.header} (as pushed)",
                      f"Content-Encoding: {reply.header('Content-Encoding') or '(absent)'}")


def content(reply: Reply, pieces: list[bytes]) -> None:
    """The decoded body is exactly the pushed payloads, concatenated in order."""
    body = decoded(reply)
    want = b"".join(pieces)
    if body != want:
        raise failure(reply, f"the pushed payloads in order {labels(want)}",
                      f"{labels(body) or f'{len(body)} unrecognised bytes'}")


def restored(reply: Reply, *, at: Cursor, pieces: list[bytes], encoded: Encoding | None = None,
             with_checksum: bool = True) -> None:
    """A 200 restore of a chain: cursor, checksum, kind, encoding and content."""
    status(reply, 200)
    cursor(reply, at)
    if with_checksum:
        checksum(reply)
    snapshot_kind(reply)
    if encoded is not None:
        encoding(reply, encoded)
    content(reply, pieces)


def labels(data: bytes) -> str:
    """The payload labels a decoded body holds, e.g. "[full, delta-1, delta-1]"
    (the kit's payloads are lines `<clause> <instance> <label> record NNN`)."""
    found = []
    for line in data.split(b"\n"):
        words = line.split(b" ")
        if len(words) == 5 and words[3:] == [b"record", b"000"]:
            found.append(words[2].decode("utf-8", "replace"))
    return f"[{', '.join(found)}]" if found else ""


def clock_note(reply: Reply, now: float) -> str:
    """For timestamp clauses: name a clock difference that could explain a failure,
    read from the reply's Date header (whole seconds, so only >= 2 s is reported)."""
    try:
        offset = parsedate_to_datetime(reply.header("Date") or "").timestamp() - now
    except (TypeError, ValueError):
        return ""
    if abs(offset) < 2:
        return ""
    return f" (note: the function's Date header is {offset:+.0f} s from this machine's clock)"
