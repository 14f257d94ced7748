"""Retries: the same push twice is one push (seed 000 keys blobs by request id)."""
from __future__ import annotations

from .. import expect
from ..context import describe_push
from ..model import Level
from ..registry import clause


async def _twice(ctx, *, new_request_id: bool):
    """Push a full, then send one delta twice; return both replies and the lineage."""
    lineage = ctx.lineage()
    await lineage.full(ctx.payload("full"))
    payload = ctx.payload("delta-1")
    body = lineage.encoding.compress(payload)
    cursor_to = lineage.next_cursor()
    first = lineage.request("delta", body, cursor_from=lineage.head, cursor_to=cursor_to)
    second = lineage.request("delta", body, cursor_from=lineage.head, cursor_to=cursor_to) \
        if new_request_id else first
    label = describe_push(first)
    replies = [await ctx.client.send(first, body, label=label),
               await ctx.client.send(second, body, label=label + ", sent again" +
                                     (" with a new request id" if new_request_id else ""))]
    expect.accepted(replies[0])
    lineage.head, lineage.accepted_async = cursor_to, replies[0].status == 202
    lineage.pieces.append(payload)
    lineage.cursors.append(cursor_to)
    return lineage, replies


def _same_answer(replies) -> None:
    first, again = replies
    if (again.status, again.body) != (first.status, first.body):
        raise expect.failure(again, f"the first answer again: {first.summary()}")


@clause("idempotency.same-request.replayed", "the same push sent twice (same request id) gets the "
        "same status and body, and the restore holds it once")
async def same_request(ctx):
    lineage, replies = await _twice(ctx, new_request_id=False)
    _same_answer(replies)
    reply = await lineage.restore()
    expect.status(reply, 200)
    expect.content(reply, lineage.pieces)


@clause("idempotency.new-request-id.replayed", "the same push re-sent with a new request id gets "
        "the same answer and is stored once", Level.EXTENSION)
async def new_request_id(ctx):
    lineage, replies = await _twice(ctx, new_request_id=True)
    _same_answer(replies)
    reply = await lineage.restore()
    expect.status(reply, 200)
    expect.content(reply, lineage.pieces)
