"""GET /health: signed like every request (seed 000, Signing)."""
from __future__ import annotations

from emulator.protocol import names

from .. import expect
from ..model import ClauseWarning
from ..registry import clause

WRONG = "-not-the-secret"


@clause("health.signed.200", "a signed GET /health answers 200 when storage is reachable")
async def signed(ctx):
    expect.status(await ctx.health(), 200)


@clause("health.bad-signature.401", "GET /health signed with another secret answers 401")
async def bad_signature(ctx):
    expect.status(await ctx.health(secret=ctx.settings.secret + WRONG, label="wrong secret"), 401)


@clause("health.expired-timestamp.401", "GET /health with a timestamp 301 s old answers 401")
async def expired(ctx):
    expect.status(await ctx.health(now=ctx.now() - 301, label="timestamp now-301s"), 401)


@clause("health.unsigned.401", "GET /health without X-WeftKit-Signature answers 401 "
        "(200 is a warning: fine only if /health is deliberately open)")
async def unsigned(ctx):
    request = ctx.health_request()
    headers = {k: v for k, v in request.headers.items() if k != names.SIGNATURE}
    reply = await ctx.client.send(request, headers=headers, label="no signature")
    if 200 <= reply.status < 300:
        raise ClauseWarning(f"{reply.request_line}: answered {reply.summary()} without a signature; "
                            "every WKP-1 request is signed, so expected 401 unless /health is "
                            "deliberately open (e.g. to a load balancer)")
    expect.status(reply, 401)
