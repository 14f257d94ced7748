"""GET /restore beyond seed 000 (docs/protocol-decisions.md): point-in-time,
strategy=full, mixed encodings, split parts, lineage takeover. All extension
level: a seed-only function that lacks them gets warnings, not failures."""
from __future__ import annotations

from emulator.protocol import names
from emulator.protocol.codec import Encoding
from emulator.protocol.headers import Part

from .. import expect
from ..context import describe_push, new_instance_id
from ..model import ClauseSkipped, Level
from ..registry import clause

EXT = Level.EXTENSION


async def _full_and_two_deltas(ctx, **kwargs):
    lineage = ctx.lineage(**kwargs)
    await lineage.full(ctx.payload("full"))
    await lineage.delta(ctx.payload("delta-1"))
    await lineage.delta(ctx.payload("delta-2"))
    return lineage


@clause("restore.headers.kind-and-deltas", "a restore says Snapshot-Kind: full (the body rebuilds "
        "the whole state) and X-WeftKit-Deltas: <deltas after the full>", EXT)
async def kind_and_deltas(ctx):
    lineage = await _full_and_two_deltas(ctx)
    reply = await lineage.restore()
    expect.status(reply, 200)
    got = tuple(reply.header(h) or "(absent)" for h in (names.SNAPSHOT_KIND, names.DELTAS))
    if got != ("full", "2"):
        raise expect.failure(reply, f"{names.SNAPSHOT_KIND}: full, {names.DELTAS}: 2",
                             f"{names.SNAPSHOT_KIND}: {got[0]}, {names.DELTAS}: {got[1]}")


@clause("restore.point-in-time.200", "cursor=<a delta's Cursor-To> restores the full and the deltas "
        "up to it, no further", EXT)
async def point_in_time(ctx):
    lineage = await _full_and_two_deltas(ctx)
    middle = lineage.cursors[1]
    reply = await lineage.restore(up_to=middle)
    expect.restored(reply, at=middle, pieces=lineage.pieces[:2])


@clause("restore.strategy-full.200", "strategy=full returns the newest full alone", EXT)
async def strategy_full(ctx):
    lineage = await _full_and_two_deltas(ctx)
    reply = await lineage.restore(full_only=True)
    expect.restored(reply, at=lineage.cursors[0], pieces=lineage.pieces[:1])


@clause("restore.mixed-encoding.200", "a chain pushed as zstd, gzip, identity comes back in the "
        "full's encoding (zstd), decoding to every payload", EXT)
async def mixed_encoding(ctx):
    lineage = ctx.lineage(encoding=Encoding.ZSTD)
    await lineage.full(ctx.payload("full"))
    await lineage.delta(ctx.payload("delta-gzip"), encoding=Encoding.GZIP)
    await lineage.delta(ctx.payload("delta-identity"), encoding=Encoding.NONE)
    expect.restored(await lineage.restore(), at=lineage.head, pieces=lineage.pieces,
                    encoded=Encoding.ZSTD)


@clause("restore.split-parts.complete-only", "a full split into X-WeftKit-Part 1/2 and 2/2 is "
        "invisible until both parts are stored, then restores whole", EXT)
async def split_parts(ctx):
    lineage = ctx.lineage()
    payload = ctx.payload("split-full", records=400)
    stream = lineage.encoding.compress(payload)
    half = len(stream) // 2
    cursor_to = lineage.next_cursor()
    for index, piece in ((1, stream[:half]), (2, stream[half:])):
        request = lineage.request("full", piece, cursor_from=None, cursor_to=cursor_to,
                                  part=Part(index, 2))
        reply = await ctx.client.send(request, piece, label=describe_push(request))
        expect.accepted(reply)
        lineage.accepted_async |= reply.status == 202
        if index == 1:  # (an async function may not have stored part 1 yet: then 204 is easy)
            early = await ctx.restore()
            if early.status != 204:
                raise expect.failure(early, "204 while only part 1/2 is stored")
    lineage.head, lineage.pieces, lineage.cursors = cursor_to, [payload], [cursor_to]
    expect.restored(await lineage.restore(), at=cursor_to, pieces=[payload])


@clause("restore.takeover-newest.200", "a fresh instance restoring with takeover=newest adopts the "
        "newest lineage, naming it in X-WeftKit-Lineage", EXT)
async def takeover_newest(ctx):
    # A separate engine of the same tenant: no other clause's lineage competes for "newest".
    engine = ctx.settings.other_engines[1]
    old = ctx.lineage(instance_id=new_instance_id(), engine=engine)
    await old.full(ctx.payload("old-pod-full"))
    await old.delta(ctx.payload("old-pod-delta"))
    plain = await ctx.restore(engine=engine, label="no takeover")
    if plain.status != 204:
        raise expect.failure(plain, "204 without takeover=newest (each instance restores its own state)")
    reply = await ctx.restore(engine=engine, takeover=True)
    expect.restored(reply, at=old.head, pieces=old.pieces)
    if reply.header(names.LINEAGE) != old.instance_id:
        raise expect.failure(reply, f"{names.LINEAGE}: {old.instance_id}",
                             f"{names.LINEAGE}: {reply.header(names.LINEAGE) or '(absent)'}")


@clause("restore.chain-gap.409", "a gap in the stored chain answers 409 with restorable_cursor", EXT)
async def chain_gap(ctx):
    raise ClauseSkipped("not testable black-box: a function never stores a gap, so making one "
                        "needs direct access to the bucket (wkp-emu's own tests cover it)")
