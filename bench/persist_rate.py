"""Persist rate of the function vs raw boto3 PUTs of the same objects.

16 concurrent clients each push a chain of 4 KiB deltas (after one small
full) through the function; in the same run, against the same moto server,
16 threads PUT the same number of 4 KiB objects straight into S3 with boto3.
Rounds alternate (raw, function, raw, function, ...); prints the median
requests/s of both, and the median of the per-round ratios (each round's
function rate over the raw rate just before it) with every round's ratio
beside it (target >= 0.8).

The function is `wkp-emu function` as a user starts it: by default with its
embedded store (moto in a child process of the function), and with
`--stores default,external` also against a moto started apart and passed with
--s3-endpoint.

    python bench/persist_rate.py [--stores default] [--clients 16] [--requests 150] [--rounds 3]
"""
from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import aiohttp  # noqa: E402

from bench._common import SECRET, Stack, median, s3_client  # noqa: E402
from emulator.protocol import signed_requests as sr  # noqa: E402
from emulator.protocol.codec import Encoding  # noqa: E402
from emulator.protocol.cursor import Cursor  # noqa: E402

DELTA = 4096


def _request(instance: str, kind: str, frm, to, body: bytes, rid: str):
    return sr.persist_request(secret=SECRET, body=body, now=int(time.time()), request_id=rid,
                              engine="keyvalue", tenant="bench", instance_id=instance,
                              strategy="delta", kind=kind, cursor_from=frm, cursor_to=to,
                              encoding=Encoding.NONE)


async def _client(http, endpoint: str, instance: str, n: int) -> None:
    body = os.urandom(DELTA)
    req = _request(instance, "full", None, Cursor(0, 0), body, f"{instance}-full")
    async with http.post(endpoint + "/persist", data=body, headers=req.headers) as resp:
        assert resp.status == 200, await resp.text()
    for seq in range(n):
        req = _request(instance, "delta", Cursor(0, seq), Cursor(0, seq + 1), body, f"{instance}-{seq}")
        async with http.post(endpoint + "/persist", data=body, headers=req.headers) as resp:
            assert resp.status == 200, await resp.text()


async def function_rate(endpoint: str, clients: int, n: int, tag: str) -> float:
    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(auto_decompress=False, connector=connector) as http:
        started = time.perf_counter()
        await asyncio.gather(*(_client(http, endpoint, f"{tag}-c{i}", n) for i in range(clients)))
        return clients * (n + 1) / (time.perf_counter() - started)


def boto3_rate(s3_endpoint: str, bucket: str, clients: int, n: int, tag: str) -> float:
    client = s3_client(s3_endpoint, max_pool_connections=clients)
    body = os.urandom(DELTA)

    def one(i: int) -> None:
        for seq in range(n + 1):
            client.put_object(Bucket=bucket, Key=f"raw/{tag}/c{i}/{seq:012d}", Body=body)
    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(one, range(clients)))
    return clients * (n + 1) / (time.perf_counter() - started)


def run(store: str, clients: int, requests: int, rounds: int) -> str:
    stack = Stack(store)
    try:
        fun, raw = [], []
        for r in range(rounds):
            raw.append(boto3_rate(stack.s3_endpoint, stack.bucket, clients, requests, f"r{r}"))
            fun.append(asyncio.run(function_rate(stack.endpoint, clients, requests, f"r{r}")))
    finally:
        stack.stop()
    ratios = sorted(f / b for f, b in zip(fun, raw))
    return (f"persist 4 KiB deltas x{clients} clients ({store} store): function {median(fun):7.1f} "
            f"req/s, raw boto3 PUT {median(raw):7.1f} req/s, ratio {median(ratios):.2f} "
            f"(median of rounds {' '.join(f'{x:.2f}' for x in ratios)}; target >= 0.80)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--stores", default="default",
                    help="default (wkp-emu function's embedded store), external, or both")
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--requests", type=int, default=150, help="deltas per client per round")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    for store in args.stores.split(","):
        print(run(store, args.clients, args.requests, args.rounds), flush=True)


if __name__ == "__main__":
    main()
