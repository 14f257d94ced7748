"""GET /restore (seed 000): 204 when empty, else the newest full plus every delta
after it, concatenated, under the pushed encoding; each instance, tenant and
engine sees only its own state."""
from __future__ import annotations

from emulator.protocol.codec import Encoding

from .. import expect
from ..context import new_instance_id
from ..registry import clause


@clause("restore.fresh.204", "GET /restore of an instance with nothing stored answers 204")
async def fresh(ctx):
    expect.status(await ctx.restore(), 204)


@clause("restore.full.exact-bytes", "a restore of a single full returns the pushed bytes unchanged")
async def exact_bytes(ctx):
    lineage = ctx.lineage()
    payload = ctx.payload("full")
    await lineage.full(payload)
    reply = await lineage.restore()
    expect.status(reply, 200)
    sent = lineage.encoding.compress(payload)
    if reply.body != sent:
        raise expect.failure(reply, f"the {len(sent)} bytes pushed, byte for byte",
                             f"{len(reply.body)} bytes that differ")


async def _chain(ctx, encoding: Encoding) -> None:
    lineage = ctx.lineage(encoding=encoding)
    await lineage.full(ctx.payload("full"))
    await lineage.delta(ctx.payload("delta-1"))
    await lineage.delta(ctx.payload("delta-2"))
    expect.restored(await lineage.restore(), at=lineage.head, pieces=lineage.pieces,
                    encoded=encoding)


def _chain_clause(encoding: Encoding) -> None:
    name = encoding.header
    clause(f"restore.chain-{name}.200",
           f"{name} full + 2 deltas restore as 200: cursor = last Cursor-To, checksum of the body, "
           f"Snapshot-Kind, Content-Encoding {name}, decodes to the payloads")(
        lambda ctx: _chain(ctx, encoding))


for _encoding in (Encoding.ZSTD, Encoding.GZIP, Encoding.NONE):
    _chain_clause(_encoding)


@clause("restore.newest-full.200", "after full, delta, newer full, delta: the restore starts at the "
        "newest full and carries only the delta after it")
async def newest_full(ctx):
    lineage = ctx.lineage()
    await lineage.full(ctx.payload("old-full"))
    await lineage.delta(ctx.payload("old-delta"))
    await lineage.full(ctx.payload("new-full"))
    await lineage.delta(ctx.payload("new-delta"))
    reply = await lineage.restore()
    expect.status(reply, 200)
    expect.cursor(reply, lineage.head)
    expect.content(reply, lineage.pieces)


async def _isolated(ctx, **elsewhere) -> None:
    lineage = ctx.lineage()
    await lineage.full(ctx.payload("full"))
    await lineage.delta(ctx.payload("delta-1"))
    reply = await ctx.restore(**elsewhere)
    if reply.status != 204:
        where = ", ".join(f"{k}={v}" for k, v in elsewhere.items())
        raise expect.failure(reply, f"204: nothing was pushed under {where}")


@clause("restore.isolation-instance.204", "another instance id of the same tenant and engine "
        "does not see the pushed state")
async def isolation_instance(ctx):
    await _isolated(ctx, instance_id=new_instance_id())


@clause("restore.isolation-tenant.204", "the same instance id under another tenant does not see "
        "the pushed state")
async def isolation_tenant(ctx):
    await _isolated(ctx, tenant=ctx.settings.other_tenant)


@clause("restore.isolation-engine.204", "the same instance id under another engine does not see "
        "the pushed state")
async def isolation_engine(ctx):
    await _isolated(ctx, engine=ctx.settings.other_engines[0])
