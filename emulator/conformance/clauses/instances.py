"""Instances (seed 002): a function is correct whether or not its warm state survives.

A platform runs a function on instances that keep memory and /tmp between
their own invocations and nowhere else: an engine's next request may land on
an instance that never saw its pushes, on one whose warm state is stale
because another instance pushed since, or on a new one because the old was
reaped between a push and its retry. A function that trusts its warm state
over the store breaks here and nowhere else, so these clauses steer requests
onto instances and check the answers against the chain actually stored.

Steering is the emulator's extension (docs/functions.md, "Steering"): the
header `X-Wkp-Emu-Instance: new | <id>` on a request, the serving instance
named in the answer's header, and `POST /_wkp/instances/reap`. Against a
function that gives no such control (any real platform), each clause still
runs its whole sequence, and fails if the answers are wrong; if they are all
right it is a SKIP, not a PASS, whose reason says the routing could not be
steered or verified, so the case was approximated by whichever instances
served it. The same holds when a steerable function could not route as asked
(its instance limit, say): routing is the platform's, never a failure of the
function; only wrong answers fail.
"""
from __future__ import annotations

from emulator.protocol.function_instances import INSTANCE_HEADER, NEW_INSTANCE

from .. import expect
from ..context import describe_push
from ..model import ClauseSkipped
from ..registry import clause

REAP_PATH = "/_wkp/instances/reap"
APPROXIMATED = ("approximated: the function names no instance in its answers ({header}), so which "
                "instance served each request could not be steered or verified; the sequence's "
                "answers were right on whichever instances served it")


class Steering:
    """Sends requests onto chosen instances and records which instance answered."""

    def __init__(self, ctx):
        self.ctx = ctx
        self.steerable = True      # every answer so far named its instance
        self.served: list[str | None] = []
        self.unrouted: list[str] = []  # requests the function did not route as asked

    async def send(self, request, body=None, *, onto: str, label: str = ""):
        headers = {**request.headers, INSTANCE_HEADER: onto}
        reply = await self.ctx.client.send(request, body, headers=headers, label=label)
        served = reply.header(INSTANCE_HEADER)
        self.served.append(served)
        self.steerable &= served is not None
        return reply

    def check_routing(self, reply, want: str | None = None, not_in: tuple = ()) -> None:
        """When steerable, note an answer that did not come from the instance asked for."""
        served = reply.header(INSTANCE_HEADER)
        if not self.steerable or served is None:
            return
        if want is not None and served != want:
            self.unrouted.append(f"{reply.label or reply.request_line}: asked for {want}, served by {served}")
        elif served in not_in:
            self.unrouted.append(f"{reply.label or reply.request_line}: asked for a new instance, "
                                 f"served by {served}, which had served this engine")

    def verdict(self) -> None:
        """PASS only if every request went where the clause meant it to."""
        if not self.steerable:
            raise ClauseSkipped(APPROXIMATED.format(header=INSTANCE_HEADER))
        if self.unrouted:
            raise ClauseSkipped("approximated: the answers were right, but not every request reached "
                                "the instance asked for (" + "; ".join(self.unrouted) + ")")


async def _push(steer: Steering, lineage, kind: str, payload: bytes, *, onto: str,
                cursor_from=None, request_id: str | None = None):
    """A push the lineage records once accepted; returns (request, body, reply)."""
    cursor_to = lineage.next_cursor()
    body = lineage.encoding.compress(payload)
    request = lineage.request(kind, body, cursor_from=lineage.head if kind == "delta" else None,
                              cursor_to=cursor_to, request_id=request_id)
    reply = await steer.send(request, body, onto=onto, label=describe_push(request) + f", onto {onto}")
    expect.accepted(reply)
    lineage.accepted_async |= reply.status == 202
    lineage.head = cursor_to
    if kind == "full":
        lineage.pieces, lineage.cursors = [payload], [cursor_to]
    else:
        lineage.pieces.append(payload)
        lineage.cursors.append(cursor_to)
    return request, body, reply


async def _restore(steer: Steering, ctx, lineage, *, onto: str):
    if lineage.accepted_async:  # a 202 function may still be storing: wait for the head first
        await lineage.settle({"instance_id": lineage.instance_id, "tenant": lineage.tenant,
                              "engine": lineage.engine})
    request = ctx.restore_request(instance_id=lineage.instance_id)
    return await steer.send(request, onto=onto, label=f"latest restore, onto {onto}")


@clause("instances.cold-restore.200", "a restore served by an instance that never saw the pushes "
        "returns the whole chain (full and two deltas), like the instance that took them")
async def cold_restore(ctx):
    steer, lineage = Steering(ctx), ctx.lineage()
    _, _, first = await _push(steer, lineage, "full", ctx.payload("full"), onto=NEW_INSTANCE)
    pusher = first.header(INSTANCE_HEADER) or NEW_INSTANCE
    for label in ("delta-1", "delta-2"):
        _, _, reply = await _push(steer, lineage, "delta", ctx.payload(label), onto=pusher)
        steer.check_routing(reply, want=first.header(INSTANCE_HEADER))
    reply = await _restore(steer, ctx, lineage, onto=NEW_INSTANCE)
    steer.check_routing(reply, not_in=(pusher,))
    expect.restored(reply, at=lineage.head, pieces=lineage.pieces)
    steer.verdict()


@clause("instances.alternating.200", "two instances serve one engine alternately, each with a stale "
        "warm head: every push in order is accepted, a push from a head the other instance moved "
        "answers 409, and the restore is the whole chain")
async def alternating(ctx):
    steer, lineage = Steering(ctx), ctx.lineage()
    _, _, a = await _push(steer, lineage, "full", ctx.payload("full"), onto=NEW_INSTANCE)
    full_cursor = lineage.head
    _, _, b = await _push(steer, lineage, "delta", ctx.payload("delta-1"), onto=NEW_INSTANCE)
    ia, ib = a.header(INSTANCE_HEADER), b.header(INSTANCE_HEADER)
    steer.check_routing(b, not_in=(ia,))
    one, other = ia or NEW_INSTANCE, ib or NEW_INSTANCE
    # Instance A last saw the full: a delta from the full's cursor looks right to its warm
    # head, but the stored head moved (B's delta). Accepting it would fork the chain.
    stale_to = lineage.head.advance(1)
    body = lineage.encoding.compress(ctx.payload("stale"))
    stale = lineage.request("delta", body, cursor_from=full_cursor, cursor_to=stale_to)
    reply = await steer.send(stale, body, onto=one,
                             label=describe_push(stale) + f", onto {one}, head is {lineage.head}")
    steer.check_routing(reply, want=ia)
    expect.status(reply, 409)
    for n, onto, want in ((2, one, ia), (3, other, ib), (4, one, ia)):
        _, _, reply = await _push(steer, lineage, "delta", ctx.payload(f"delta-{n}"), onto=onto)
        steer.check_routing(reply, want=want)
    reply = await _restore(steer, ctx, lineage, onto=other)
    steer.check_routing(reply, want=ib)
    expect.restored(reply, at=lineage.head, pieces=lineage.pieces)
    steer.verdict()


@clause("instances.reaped-retry.replayed", "a push retried after the instance that took it was "
        "reaped gets the same answer from a new instance, and the restore holds it once")
async def reaped_retry(ctx):
    steer, lineage = Steering(ctx), ctx.lineage()
    _, _, first = await _push(steer, lineage, "full", ctx.payload("full"), onto=NEW_INSTANCE)
    pusher = first.header(INSTANCE_HEADER)
    request, body, took = await _push(steer, lineage, "delta", ctx.payload("delta-1"),
                                      onto=pusher or NEW_INSTANCE)
    reaped = await _reap(ctx) if steer.steerable else None
    if steer.steerable and reaped is not None and took.header(INSTANCE_HEADER) not in reaped:
        steer.unrouted.append(f"POST {REAP_PATH} reaped {reaped}, not {took.header(INSTANCE_HEADER)}, "
                              "the instance that took the push")
    retry = await steer.send(request, body, onto=NEW_INSTANCE,
                             label=describe_push(request) + ", sent again onto a new instance")
    steer.check_routing(retry, not_in=tuple(i for i in steer.served[:-1] if i))
    if (retry.status, retry.body) != (took.status, took.body):
        raise expect.failure(retry, f"the first answer again: {took.summary()}")
    reply = await _restore(steer, ctx, lineage, onto=NEW_INSTANCE)
    expect.restored(reply, at=lineage.head, pieces=lineage.pieces)
    if steer.steerable and reaped is None:
        raise ClauseSkipped(f"approximated: the retry went to a new instance, but the function has "
                            f"no {REAP_PATH}, so the first instance was not reaped; the answers were right")
    steer.verdict()


async def _reap(ctx) -> list[str] | None:
    """Reap every idle instance; None when the function has no such control."""
    status, data = await ctx.client.post_json(REAP_PATH)
    if status != 200 or not isinstance(data, dict) or not isinstance(data.get("reaped"), list):
        return None
    return data["reaped"]
