"""POST /persist: success answers, malformed requests (400), the size limit (413)
and the chain rule (409) of seed 000; extensions are marked."""
from __future__ import annotations

import hashlib

import aiohttp

from emulator.protocol import names
from emulator.protocol.cursor import Cursor

from .. import expect
from ..context import describe_push, oversized_body
from ..model import ClauseFailed, Level
from ..registry import clause


@clause("persist.full.200", 'a full push answers 200/202 with JSON {"cursor": <Cursor-To>, '
        '"stored_at": <unix seconds>}')
async def full(ctx):
    lineage = ctx.lineage()
    reply = await lineage.full(ctx.payload("full"))
    expect.persist_answer(reply, lineage.head, ctx.now())


@clause("persist.delta.200", "a delta whose Cursor-From is the stored head answers 200/202 "
        "with its Cursor-To")
async def delta(ctx):
    lineage = ctx.lineage()
    await lineage.full(ctx.payload("full"))
    reply = await lineage.delta(ctx.payload("delta-1"))
    expect.persist_answer(reply, lineage.head, ctx.now())


async def _malformed(ctx, note: str, change) -> None:
    """A correctly signed full push with one header changed by `change(headers)`:
    400, and nothing stored under the clause's instance."""
    lineage = ctx.lineage()
    body = lineage.encoding.compress(ctx.payload("full"))
    request = lineage.request("full", body, cursor_from=None, cursor_to=lineage.next_cursor())
    headers = dict(request.headers)
    change(headers)
    reply = await ctx.client.send(request, body, headers=headers,
                                  label=f"{describe_push(request)}, {note}")
    expect.status(reply, 400)
    expect.nothing_stored(await ctx.restore(), reply.request_line)


def _drop(name):
    return lambda headers: headers.pop(name)


def _put(name, value):
    return lambda headers: headers.__setitem__(name, value)


@clause("persist.missing-engine.400", "a push without X-WeftKit-Engine answers 400")
async def missing_engine(ctx):
    await _malformed(ctx, "no X-WeftKit-Engine", _drop(names.ENGINE))


@clause("persist.missing-protocol.400", "a push without X-WeftKit-Protocol answers 400")
async def missing_protocol(ctx):
    await _malformed(ctx, "no X-WeftKit-Protocol", _drop(names.PROTOCOL))


@clause("persist.bad-cursor.400", "a push whose X-WeftKit-Cursor-To is not a wkc_ cursor answers 400")
async def bad_cursor(ctx):
    await _malformed(ctx, "Cursor-To 'not-a-cursor'", _put(names.CURSOR_TO, "not-a-cursor"))


@clause("persist.unknown-kind.400", "a push whose X-WeftKit-Snapshot-Kind is not full|delta answers 400")
async def unknown_kind(ctx):
    await _malformed(ctx, "Snapshot-Kind 'partial'", _put(names.SNAPSHOT_KIND, "partial"))


@clause("persist.checksum-mismatch.400", "a correctly signed push whose X-WeftKit-Checksum is not "
        "the body's sha256 answers 400 and stores nothing")
async def checksum_mismatch(ctx):
    other = "sha256=" + hashlib.sha256(b"not the body").hexdigest()
    await _malformed(ctx, "checksum of other bytes", _put(names.CHECKSUM, other))


@clause("persist.tenant-traversal.400", "a push with tenant '../<tenant>' answers 400 "
        "(identifier charset)", Level.EXTENSION)
async def tenant_traversal(ctx):
    await _malformed(ctx, "tenant '../…'", _put(names.TENANT, "../" + ctx.settings.tenant))


@clause("persist.instance-slash.400", "a push whose instance id contains '/' answers 400 "
        "(identifier charset)", Level.EXTENSION)
async def instance_slash(ctx):
    await _malformed(ctx, "instance id with '/'",
                     _put(names.INSTANCE_ID, f"{ctx.instance_id}/nested"))


async def _oversized(ctx, *, declared: bool = True):
    """Push max-payload + 1 bytes, streamed (never held in memory), its size declared
    by Content-Length or, with declared=False, sent chunked."""
    size = ctx.settings.max_payload + 1
    digest, stream = oversized_body(size)
    lineage = ctx.lineage()
    request = lineage.request("full", None, body_sha256=digest,
                              content_length=size if declared else None,
                              cursor_from=None, cursor_to=lineage.next_cursor())
    label = f"{describe_push(request)}, {size} bytes{'' if declared else ' chunked'}"
    try:
        return await ctx.client.send(request, stream(), label=label)
    except (aiohttp.ClientError, OSError) as exc:
        raise ClauseFailed(f"POST /persist ({label}): expected 413, but the connection failed "
                           f"before an answer: {type(exc).__name__}: {exc}") from None


@clause("persist.too-large.413", "a push of --max-payload + 1 bytes answers 413 and stores nothing")
async def too_large(ctx):
    reply = await _oversized(ctx)
    expect.status(reply, 413)
    expect.nothing_stored(await ctx.restore(), reply.request_line)


@clause("persist.too-large.names-limit", "the 413 names the limit: X-WeftKit-Max-Payload and JSON "
        "max_payload equal --max-payload", Level.EXTENSION)
async def too_large_names_limit(ctx):
    reply = await _oversized(ctx)
    expect.status(reply, 413)
    limit = str(ctx.settings.max_payload)
    if reply.header(names.MAX_PAYLOAD) != limit:
        raise expect.failure(reply, f"{names.MAX_PAYLOAD}: {limit}",
                             f"{names.MAX_PAYLOAD}: {reply.header(names.MAX_PAYLOAD) or '(absent)'}")
    try:
        body = reply.json()
    except (ValueError, UnicodeDecodeError):
        body = None
    if not isinstance(body, dict) or body.get("max_payload") != ctx.settings.max_payload:
        raise expect.failure(reply, f'JSON "max_payload": {limit}')


@clause("persist.too-large-chunked.413", "a chunked push (no Content-Length) passing --max-payload "
        "answers 413 and stores nothing", Level.EXTENSION)
async def too_large_chunked(ctx):
    reply = await _oversized(ctx, declared=False)
    expect.status(reply, 413)
    expect.nothing_stored(await ctx.restore(), reply.request_line)


@clause("persist.cursor-gap.409", "a delta whose Cursor-From is not the stored head answers 409; "
        "the restore still ends at the head")
async def cursor_gap(ctx):
    lineage = ctx.lineage()
    await lineage.full(ctx.payload("full"))
    gap_from = lineage.head.advance(2)
    body = lineage.encoding.compress(ctx.payload("gap-delta"))
    request = lineage.request("delta", body, cursor_from=gap_from, cursor_to=gap_from.advance(5))
    reply = await ctx.client.send(request, body, label=describe_push(request) + f", head is {lineage.head}")
    expect.status(reply, 409)
    expect.restored(await lineage.restore(), at=lineage.head, pieces=lineage.pieces,
                    with_checksum=False)


@clause("persist.delta-without-full.409", "a delta to an instance with nothing stored answers 409")
async def delta_without_full(ctx):
    lineage = ctx.lineage()
    body = lineage.encoding.compress(ctx.payload("orphan-delta"))
    request = lineage.request("delta", body, cursor_from=Cursor(0, 10), cursor_to=Cursor(0, 15))
    reply = await ctx.client.send(request, body, label=describe_push(request) + ", nothing stored")
    expect.status(reply, 409)
    expect.nothing_stored(await ctx.restore(), reply.request_line)


@clause("persist.full-behind-head.409", "a full whose Cursor-To is behind the stored head answers "
        "409 (a fenced writer)", Level.EXTENSION)
async def full_behind_head(ctx):
    lineage = ctx.lineage()
    await lineage.full(ctx.payload("full"), to=Cursor(0, 20))
    body = lineage.encoding.compress(ctx.payload("stale-full"))
    request = lineage.request("full", body, cursor_from=None, cursor_to=Cursor(0, 10))
    reply = await ctx.client.send(request, body, label=describe_push(request) + ", head is wkc_0000_0020")
    expect.status(reply, 409)
