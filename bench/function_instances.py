"""What running on instances costs the function, against one instance in the same run.

Two `wkp-emu function` processes on one moto (started apart, so the store is
the same for both):

- one instance (the default: every request on one long-running process, its
  warm heads trusted);
- Lambda-like instances (`--instances-max 64 --instance-concurrency 1`): each
  concurrent request has an instance of its own, so more than one has run, and
  every push a warm head accepts is confirmed against a fresh listing first
  (docs/functions.md, "What an instance keeps").

Prints (1) the persist rate of 16 clients pushing chains of 4 KiB deltas,
instances over one instance, the median of per-round ratios (rounds alternate);
(2) the latency of GET /health on a new instance (a cold start with
cold_start_ms 0: what the host itself adds to start one) over a warm one.

    python bench/function_instances.py [--clients 16] [--requests 60] [--rounds 3] [--probes 200]
"""
from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import aiohttp  # noqa: E402

from bench._common import SECRET, median, start_function, start_moto, stop  # noqa: E402
from emulator.protocol import signed_requests as sr  # noqa: E402
from emulator.protocol.codec import Encoding  # noqa: E402
from emulator.protocol.cursor import Cursor  # noqa: E402
from emulator.protocol.function_instances import INSTANCE_HEADER, NEW_INSTANCE  # noqa: E402

DELTA = 4096


def _push(instance: str, kind: str, frm, to, body: bytes, rid: str):
    return sr.persist_request(secret=SECRET, body=body, now=int(time.time()), request_id=rid,
                              engine="keyvalue", tenant="bench", instance_id=instance,
                              strategy="delta", kind=kind, cursor_from=frm, cursor_to=to,
                              encoding=Encoding.NONE)


async def _chain(http, endpoint: str, instance: str, n: int) -> None:
    body = os.urandom(DELTA)
    steps = [("full", None, Cursor(0, 0))] + [("delta", Cursor(0, s), Cursor(0, s + 1)) for s in range(n)]
    for i, (kind, frm, to) in enumerate(steps):
        req = _push(instance, kind, frm, to, body, f"{instance}-{i}")
        async with http.post(endpoint + "/persist", data=body, headers=req.headers) as resp:
            assert resp.status == 200, await resp.text()


async def persist_rate(endpoint: str, clients: int, n: int, tag: str) -> float:
    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(auto_decompress=False, connector=connector) as http:
        started = time.perf_counter()
        await asyncio.gather(*(_chain(http, endpoint, f"{tag}-c{i}", n) for i in range(clients)))
        return clients * (n + 1) / (time.perf_counter() - started)


async def health_latencies(endpoint: str, probes: int) -> tuple[list[float], list[float]]:
    """(cold, warm) seconds per GET /health, alternating a new instance and a warm one."""
    cold, warm = [], []
    async with aiohttp.ClientSession(auto_decompress=False) as http:
        for i in range(probes):
            for steer, out in ((NEW_INSTANCE, cold), (None, warm)):
                req = sr.health_request(secret=SECRET, now=int(time.time()))
                headers = dict(req.headers) | ({INSTANCE_HEADER: steer} if steer else {})
                started = time.perf_counter()
                async with http.get(endpoint + "/health", headers=headers) as resp:
                    await resp.read()
                    assert resp.status == 200
                out.append(time.perf_counter() - started)
    return cold, warm


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--requests", type=int, default=60, help="deltas per client per round")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--probes", type=int, default=200)
    args = ap.parse_args()
    moto, s3 = start_moto()
    procs = []
    try:
        one_proc, one = start_function("--s3-endpoint", s3, "--bucket", "bench-one")
        procs.append(one_proc)
        many_proc, many = start_function("--s3-endpoint", s3, "--bucket", "bench-many",
                                         "--instances-max", "64", "--instance-concurrency", "1")
        procs.append(many_proc)
        single, multi = [], []
        for r in range(args.rounds):
            single.append(asyncio.run(persist_rate(one["endpoint"], args.clients, args.requests, f"one{r}")))
            multi.append(asyncio.run(persist_rate(many["endpoint"], args.clients, args.requests, f"many{r}")))
        ratios = sorted(m / s for m, s in zip(multi, single))
        print(f"persist 4 KiB deltas x{args.clients} clients, chains of {args.requests + 1}: instances "
              f"(1 request each, warm heads confirmed by a listing) {median(multi):7.1f} req/s, one instance "
              f"{median(single):7.1f} req/s, ratio {median(ratios):.2f} "
              f"(median of rounds {' '.join(f'{x:.2f}' for x in ratios)})", flush=True)
        cold, warm = asyncio.run(health_latencies(many["endpoint"], args.probes))
        c, w = median(cold) * 1000, median(warm) * 1000
        print(f"GET /health x{args.probes}: on a new instance (cold_start_ms 0) p50 {c:.2f} ms, "
              f"on a warm one p50 {w:.2f} ms, ratio {c / w:.2f}", flush=True)
    finally:
        for proc in procs:
            stop(proc)
        stop(moto)


if __name__ == "__main__":
    main()
