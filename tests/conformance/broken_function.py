"""A deliberately broken WKP-1 function, for testing the conformance kit itself.

In-memory, real HTTP (aiohttp on 127.0.0.1). It follows seed 000 except for
three planted bugs, which the kit must report as exactly the matching clauses:

1. it accepts any signature (timestamps are still checked);
2. it never answers 409 (every delta is stored, gap or not);
3. its restores carry a wrong X-WeftKit-Checksum.

Like a seed-only function it implements none of wkp-emu's extensions
(point-in-time, strategy=full, parts, takeover, mixed chains, X-WeftKit-Deltas,
the 413 naming its limit), so the kit must only *warn* about those.

Run: python -m tests.conformance.broken_function --max-payload BYTES
prints {"endpoint": "http://127.0.0.1:PORT"} when ready; stops on SIGTERM.
"""
from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import signal
import time

from aiohttp import web

from emulator.protocol.errors import ProtocolError
from emulator.protocol.headers import HealthHeaders, PersistHeaders, RestoreHeaders, RestoreQuery
from emulator.protocol.signing import check_freshness

MAX_PAYLOAD = web.AppKey("max_payload", int)
SNAPSHOTS = web.AppKey("snapshots", dict)


def _fresh(timestamp: int) -> None:
    check_freshness(timestamp, time.time())  # bug 1: the signature itself is never verified


@web.middleware
async def statuses(request, handler):
    try:
        return await handler(request)
    except ProtocolError as exc:
        return web.json_response(exc.to_json(), status=exc.status_hint)


async def health(request):
    _fresh(HealthHeaders.from_headers(request.headers).timestamp)
    return web.json_response({"status": "ok"})


async def persist(request):
    h = PersistHeaders.from_headers(request.headers)
    _fresh(h.timestamp)
    if (h.content_length or 0) > request.app[MAX_PAYLOAD]:
        return web.json_response({"error": "too large"}, status=413)
    body = await request.read()
    if len(body) > request.app[MAX_PAYLOAD]:  # a chunked body declares no length
        return web.json_response({"error": "too large"}, status=413)
    if not body or hashlib.sha256(body).hexdigest() != h.checksum:
        return web.json_response({"error": "checksum mismatch"}, status=400)
    chain = request.app[SNAPSHOTS].setdefault((h.tenant, h.engine, h.instance_id), {})
    key = (h.kind, h.cursor_from, h.cursor_to)
    if key in chain and chain[key]["checksum"] == h.checksum:
        return web.json_response(chain[key]["answer"])  # an idempotent retry
    # bug 2: no chain rule at all, so never a 409
    chain[key] = {"checksum": h.checksum, "body": body, "encoding": h.encoding, "kind": h.kind,
                  "from": h.cursor_from, "to": h.cursor_to,
                  "answer": {"cursor": str(h.cursor_to), "stored_at": int(time.time())}}
    return web.json_response(chain[key]["answer"])


async def restore(request):
    query = RestoreQuery.from_query(request.rel_url.query)
    h = RestoreHeaders.from_headers(request.headers, query)
    _fresh(h.timestamp)
    chain = request.app[SNAPSHOTS].get((query.tenant, query.engine, h.instance_id), {})
    fulls = [s for s in chain.values() if s["kind"] == "full"]
    if not fulls:
        return web.Response(status=204)
    base = max(fulls, key=lambda s: s["to"])
    deltas = sorted((s for s in chain.values() if s["kind"] == "delta" and s["from"] >= base["to"]),
                    key=lambda s: s["from"])
    picked = [base, *deltas]
    body = b"".join(s["body"] for s in picked)
    wrong = hashlib.sha256(body + b"!").hexdigest()  # bug 3
    return web.Response(body=body, headers={
        "Content-Type": "application/octet-stream",
        "Content-Encoding": base["encoding"].header,
        "X-WeftKit-Cursor": str(picked[-1]["to"]),
        "X-WeftKit-Checksum": f"sha256={wrong}",
        "X-WeftKit-Snapshot-Kind": "full"})


def create_app(max_payload: int) -> web.Application:
    app = web.Application(middlewares=[statuses], client_max_size=max_payload + 1)
    app[MAX_PAYLOAD], app[SNAPSHOTS] = max_payload, {}
    app.router.add_get("/health", health)
    app.router.add_post("/persist", persist)
    app.router.add_get("/restore", restore)
    return app


async def serve(max_payload: int) -> None:
    runner = web.AppRunner(create_app(max_payload), auto_decompress=False, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = site._server.sockets[0].getsockname()[:2]
    print(json.dumps({"endpoint": f"http://{host}:{port}"}), flush=True)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    await stop.wait()
    await runner.cleanup()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-payload", type=int, default=1024 * 1024)
    asyncio.run(serve(parser.parse_args().max_payload))
