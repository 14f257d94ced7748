"""Restore throughput of the function vs a raw boto3 GET of the same objects.

Pushes a chain (one full plus deltas) of SIZE bytes through the function into
a moto server, then, in the same run and against the same moto:
- baseline: boto3 GETs of exactly the objects the restore plan returns,
  streamed in 1 MiB reads and discarded;
- function: GET /restore, streamed in 1 MiB reads and discarded, by default
  through urllib3 (the HTTP client under boto3, so both sides read with the
  same client; --client aiohttp for an asyncio client), while sampling the
  function process's RSS (and, apart, the store process's); once with the
  default kernel relay (splice) and once with --no-splice (the bytes pass
  through Python).
Rounds alternate (GET, restore, GET, restore, ...). Prints the median
throughput of both, the median of the per-round ratios (target >= 0.8) and
the function's peak RSS growth over all rounds (target <= 64 MiB). Seed SLO:
1 GiB < 45 s.

The function is `wkp-emu function` as a user starts it: by default with its
embedded store (moto in a child process of the function), and with
`--stores default,external` also against a moto started apart and passed with
--s3-endpoint.

    python bench/restore_throughput.py [--stores default] [--sizes 256M,1G] [--deltas 8]
                                       [--relays splice,stream] [--rounds 9]
"""
from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import aiohttp  # noqa: E402
import urllib3  # noqa: E402

from bench._common import SECRET, RssSampler, Stack, median, s3_client  # noqa: E402
from emulator.protocol import layout, signed_requests as sr  # noqa: E402
from emulator.protocol.codec import Encoding  # noqa: E402
from emulator.protocol.cursor import Cursor  # noqa: E402
from emulator.protocol.headers import Part  # noqa: E402
from emulator.protocol.restore_plan import plan_restore  # noqa: E402

MiB = 1024 * 1024
CHUNK = MiB


def parse_size(text: str) -> int:
    units = {"K": 1024, "M": MiB, "G": 1024 * MiB}
    return int(float(text[:-1]) * units[text[-1].upper()]) if text[-1].upper() in units else int(text)


PART_LIMIT = 96 * MiB  # under the function's 100 MiB limit: big pushes go as parts
BLOCK = os.urandom(CHUNK)  # incompressible, like vector pages


def _bytes(size):
    for i in range(0, size, CHUNK):
        yield BLOCK[: min(CHUNK, size - i)]


async def _push(http, endpoint, instance, kind, frm, to, size):
    """Stream `size` bytes as one snapshot, split into parts over the limit."""
    count = -(-size // PART_LIMIT)
    for index in range(1, count + 1):
        part_size = min(PART_LIMIT, size - (index - 1) * PART_LIMIT)
        hasher = hashlib.sha256()
        for chunk in _bytes(part_size):
            hasher.update(chunk)
        req = sr.persist_request(
            secret=SECRET, body_sha256=hasher.hexdigest(), content_length=part_size,
            now=int(time.time()), request_id=f"{instance}-{to.seq}-{index}", engine="relational",
            tenant="bench", instance_id=instance, strategy="incremental", kind=kind,
            cursor_from=frm, cursor_to=to, encoding=Encoding.NONE,
            part=Part(index, count) if count > 1 else None)

        async def body(n=part_size):
            for chunk in _bytes(n):
                yield chunk
        async with http.post(endpoint + "/persist", data=body(), headers=req.headers) as resp:
            assert resp.status == 200, await resp.text()


async def push_chain(endpoint, instance, total, deltas):
    delta_size = min(4 * MiB, total // (4 * max(deltas, 1))) if deltas else 0
    full_size = total - delta_size * deltas
    async with aiohttp.ClientSession(auto_decompress=False) as http:
        await _push(http, endpoint, instance, "full", None, Cursor(0, 100), full_size)
        for i in range(deltas):
            await _push(http, endpoint, instance, "delta", Cursor(0, 100 + i), Cursor(0, 101 + i),
                        delta_size)


def baseline_get(s3_endpoint, bucket, instance) -> tuple[float, int]:
    client = s3_client(s3_endpoint, max_pool_connections=4)
    prefix = layout.instance_prefix("bench", "relational", instance)
    listing = client.list_objects_v2(Bucket=bucket, Prefix=prefix)["Contents"]
    objects = [layout.parse_key(o["Key"], o["Size"]) for o in listing]
    plan = plan_restore([o for o in objects if o])
    started, total, digest = time.perf_counter(), 0, hashlib.sha256()
    for obj in plan.objects:
        body = client.get_object(Bucket=bucket, Key=obj.key)["Body"]
        while chunk := body.read(CHUNK):
            total += len(chunk)
    elapsed = time.perf_counter() - started
    for obj in plan.objects:  # after the clock: what the function must send, to check it
        body = client.get_object(Bucket=bucket, Key=obj.key)["Body"]
        while chunk := body.read(CHUNK):
            digest.update(chunk)
    return elapsed, total, digest.hexdigest()


async def _read_aiohttp(url, headers, digest) -> tuple[int, str]:
    total = 0
    timeout = aiohttp.ClientTimeout(total=600)
    async with aiohttp.ClientSession(auto_decompress=False, timeout=timeout) as http:
        async with http.get(url, headers=headers) as resp:
            assert resp.status == 200, resp.status
            async for chunk in resp.content.iter_chunked(CHUNK):
                total += len(chunk)
                if digest is not None:
                    digest.update(chunk)
            return total, resp.headers["X-WeftKit-Checksum"]


def _read_urllib3(url, headers, digest) -> tuple[int, str]:
    """The HTTP stack under boto3 (urllib3), read as its StreamingBody reads:
    the same client on both sides, so the ratio is the function's hop alone."""
    total = 0
    with urllib3.PoolManager() as pool:
        resp = pool.request("GET", url, headers=headers, preload_content=False,
                            decode_content=False, timeout=urllib3.Timeout(connect=10, read=600))
        assert resp.status == 200, resp.status
        while chunk := resp.read(CHUNK):
            total += len(chunk)
            if digest is not None:
                digest.update(chunk)
        resp.release_conn()
        return total, resp.headers["X-WeftKit-Checksum"]


def function_restore(endpoint, instance, pid, digest=None, store_pid=None, client="urllib3"):
    req = sr.restore_request(secret=SECRET, now=int(time.time()), request_id="bench-restore",
                             engine="relational", tenant="bench", instance_id=instance)
    sampler = RssSampler(pid)
    store_sampler = RssSampler(store_pid) if store_pid else None
    started = time.perf_counter()
    if client == "aiohttp":
        total, checksum = asyncio.run(_read_aiohttp(endpoint + req.target, req.headers, digest))
    else:
        total, checksum = _read_urllib3(endpoint + req.target, req.headers, digest)
    elapsed = time.perf_counter() - started
    store_growth = store_sampler.stop() if store_sampler else 0
    return elapsed, total, sampler.stop(), checksum, store_growth


def run(store: str, size: int, deltas: int, rounds: int, relay: str, client: str) -> dict:
    stack = Stack(store, *(["--no-splice"] if relay == "stream" else []))
    try:
        instance = f"bench-{size}"
        asyncio.run(push_chain(stack.endpoint, instance, size, deltas))
        base, fun, ratios, rss, store_rss = [], [], [], [], []
        for _ in range(rounds):  # alternate, so drift on a shared machine hits both
            t, n, digest = baseline_get(stack.s3_endpoint, stack.bucket, instance)
            base.append(n / t)
            t2, n2, grow, checksum, store_grow = function_restore(
                stack.endpoint, instance, stack.function.pid, store_pid=stack.store_pid, client=client)
            assert n2 == n and checksum == "sha256=" + digest, (n2, n, checksum, digest)
            fun.append(n2 / t2)
            ratios.append(fun[-1] / base[-1])
            rss.append(grow)
            store_rss.append(store_grow)
        sent = hashlib.sha256()  # untimed: the bytes themselves, not only their count
        function_restore(stack.endpoint, instance, stack.function.pid, sent, client=client)
        assert "sha256=" + sent.hexdigest() == checksum, "the function sent other bytes"
        return {"size": size, "baseline_MBps": median(base) / MiB, "function_MBps": median(fun) / MiB,
                "ratio": median(ratios), "ratios": ratios, "restore_s": size / median(fun),
                "rss_growth_MiB": max(rss) / MiB, "store_rss_growth_MiB": max(store_rss) / MiB}
    finally:
        stack.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--stores", default="default",
                    help="default (wkp-emu function's embedded store), external, or both")
    ap.add_argument("--sizes", default="256M,1G")
    ap.add_argument("--deltas", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--relays", default="splice,stream")
    ap.add_argument("--client", choices=("urllib3", "aiohttp"), default="urllib3",
                    help="HTTP client reading the function's restore (urllib3: the one under boto3)")
    args = ap.parse_args()
    runs = [(store, text, relay) for store in args.stores.split(",")
            for text in args.sizes.split(",") for relay in args.relays.split(",")]
    for store, text, relay in runs:
        r = run(store, parse_size(text), args.deltas, args.rounds, relay, args.client)
        print(f"restore {text:>5} ({store} store, {relay} relay, {args.client}): function {r['function_MBps']:7.1f} "
              f"MiB/s, raw boto3 GET {r['baseline_MBps']:7.1f} MiB/s, ratio {r['ratio']:.2f} "
              f"(median of rounds {' '.join(f'{x:.2f}' for x in sorted(r['ratios']))}; target >= 0.80); "
              f"restore time {r['restore_s']:.1f} s (SLO 1 GiB < 45 s); "
              f"function RSS growth {r['rss_growth_MiB']:.1f} MiB (target <= 64; "
              f"store process {r['store_rss_growth_MiB']:.1f} MiB)", flush=True)


if __name__ == "__main__":
    main()
