"""Signing and freshness (seed 000, Signing): bad signatures and stale or future
timestamps are 401, and a refused push stores nothing."""
from __future__ import annotations

import hashlib

from emulator.protocol import names

from .. import expect
from ..context import describe_push
from ..model import ClauseFailed
from ..registry import clause

WRONG = "-not-the-secret"
SKEW = 301          # one second beyond the seed's ±300 s
WITHIN_SKEW = 240   # comfortably inside, leaving a minute for clock differences


async def _refused_full(ctx, request, body, *, headers=None, note=""):
    """Send a doctored full push; expect 401 and nothing stored."""
    label = describe_push(request) + (f", {note}" if note else "")
    reply = await ctx.client.send(request, body, headers=headers, label=label)
    try:
        expect.status(reply, 401)
    except ClauseFailed as exc:
        raise ClauseFailed(exc.reason + expect.clock_note(reply, ctx.now())) from None
    expect.nothing_stored(await ctx.restore(), f"{reply.request_line}")


def _full(ctx, **kwargs):
    lineage = ctx.lineage()
    body = lineage.encoding.compress(ctx.payload("full"))
    return lineage, body, lineage.request("full", body, cursor_from=None,
                                          cursor_to=lineage.next_cursor(), **kwargs)


@clause("auth.bad-signature.401", "a push signed with another secret answers 401 and stores nothing")
async def bad_signature(ctx):
    _, body, request = _full(ctx, secret=ctx.settings.secret + WRONG)
    await _refused_full(ctx, request, body, note="wrong secret")


@clause("auth.missing-signature.401", "a push without X-WeftKit-Signature answers 401 and stores nothing")
async def missing_signature(ctx):
    _, body, request = _full(ctx)
    headers = {k: v for k, v in request.headers.items() if k != names.SIGNATURE}
    await _refused_full(ctx, request, body, headers=headers, note="no signature")


@clause("auth.expired-timestamp.401", "a push whose timestamp is 301 s in the past answers 401")
async def expired(ctx):
    _, body, request = _full(ctx, now=ctx.now() - SKEW)
    await _refused_full(ctx, request, body, note=f"timestamp now-{SKEW}s")


@clause("auth.future-timestamp.401", "a push whose timestamp is 301 s in the future answers 401")
async def future(ctx):
    # Rounded up: a timestamp of the current second truncated would be up to 1 s less ahead.
    _, body, request = _full(ctx, now=ctx.now(round_up=True) + SKEW)
    await _refused_full(ctx, request, body, note=f"timestamp now+{SKEW}s")


@clause("auth.within-skew.200", "a push whose timestamp is 240 s old is still accepted (skew ±300 s)")
async def within_skew(ctx):
    lineage, body, request = _full(ctx, now=ctx.now() - WITHIN_SKEW)
    reply = await ctx.client.send(request, body, label=describe_push(request) + ", timestamp now-240s")
    try:
        expect.accepted(reply)
    except ClauseFailed as exc:
        raise ClauseFailed(exc.reason + expect.clock_note(reply, ctx.now())) from None


@clause("auth.other-body.401", "a push whose signature covers a different body answers 401 "
        "(checksum header correct) and stores nothing")
async def other_body(ctx):
    lineage = ctx.lineage()
    body = lineage.encoding.compress(ctx.payload("full"))
    decoy = lineage.encoding.compress(ctx.payload("decoy"))
    request = lineage.request("full", decoy, cursor_from=None, cursor_to=lineage.next_cursor())
    headers = dict(request.headers)
    headers[names.CHECKSUM] = "sha256=" + hashlib.sha256(body).hexdigest()
    headers["Content-Length"] = str(len(body))
    await _refused_full(ctx, request, body, headers=headers, note="signed over another body")


@clause("auth.restore-bad-signature.401", "GET /restore signed with another secret answers 401, "
        "revealing nothing")
async def restore_bad_signature(ctx):
    lineage = ctx.lineage()
    await lineage.full(ctx.payload("full"))
    reply = await ctx.restore(secret=ctx.settings.secret + WRONG, label="wrong secret")
    expect.status(reply, 401)


@clause("auth.restore-tampered-query.401", "GET /restore whose query differs from the signed one "
        "answers 401 (the signature covers the query)")
async def restore_tampered_query(ctx):
    lineage = ctx.lineage()
    await lineage.full(ctx.payload("full"))
    signed = ctx.restore_request(tenant=ctx.settings.other_tenant)
    tampered = signed.query.replace(f"tenant={ctx.settings.other_tenant}",
                                    f"tenant={ctx.settings.tenant}", 1)
    headers = dict(signed.headers)
    headers[names.TENANT] = ctx.settings.tenant
    request = type(signed)(signed.method, signed.path, tampered, headers)
    reply = await ctx.client.send(request, label="query altered after signing")
    expect.status(reply, 401)
