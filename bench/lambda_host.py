"""The Lambda reference function on the local Lambda host against the aiohttp function.

Both run in this process's event loop over one embedded moto S3 (a child
process), in the same run:
- persist rate: `--clients` engines each push a full and `--pushes` 4 KiB
  deltas, concurrently; requests/s of each, and the Lambda one as a ratio of
  the aiohttp one;
- restore throughput: a chain of `--chain-mib` MiB (4 MiB pushes: the Lambda
  function's limit) restored `--restores` times from each; MiB/s and ratio;
- the host's cold start (a signed GET /health on a new runtime process after
  every instance was reaped: end to end, and process start to its first poll
  of the Runtime API) and warm invocation latency (GET /health on a warm
  instance), each against the aiohttp function's GET /health latency.

    python bench/lambda_host.py [--clients 4] [--pushes 40] [--chain-mib 16] [--restores 3] [--colds 5]
"""
from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import aiohttp  # noqa: E402

from emulator.function.config import FunctionConfig  # noqa: E402
from emulator.function.runner import start_function  # noqa: E402
from emulator.platforms.lambda_host.serving import LambdaFunctionSettings, start_lambda_function  # noqa: E402
from emulator.protocol import signed_requests as sr  # noqa: E402
from emulator.protocol.codec import Encoding  # noqa: E402
from emulator.protocol.cursor import Cursor  # noqa: E402
from emulator.store.moto_server import EmbeddedS3  # noqa: E402

SECRET = "bench-secret"
DELTA = 4096
MiB = 1024 * 1024


def _push(instance, kind, frm, to, body):
    return sr.persist_request(secret=SECRET, body=body, now=int(time.time()), request_id=uuid.uuid4().hex,
                              engine="keyvalue", tenant="bench", instance_id=instance, strategy="delta",
                              kind=kind, cursor_from=frm, cursor_to=to, encoding=Encoding.NONE)


async def _send(http, endpoint, req, body=None):
    async with http.request(req.method, endpoint + req.target, data=body, headers=req.headers) as resp:
        data = await resp.read()
        assert resp.status in (200, 204), (resp.status, data[:300])
        return data


async def _engine(http, endpoint, instance, pushes):
    body = os.urandom(DELTA)
    await _send(http, endpoint, _push(instance, "full", None, Cursor(0, 0), body), body)
    for seq in range(pushes):
        await _send(http, endpoint, _push(instance, "delta", Cursor(0, seq), Cursor(0, seq + 1), body), body)


async def persist_rate(http, endpoint, clients, pushes, tag) -> float:
    started = time.perf_counter()
    await asyncio.gather(*(_engine(http, endpoint, f"{tag}-{uuid.uuid4().hex[:6]}-{c}", pushes)
                           for c in range(clients)))
    return clients * (pushes + 1) / (time.perf_counter() - started)


async def restore_rate(http, endpoint, instance, restores) -> float:
    total, started = 0, time.perf_counter()
    for _ in range(restores):
        req = sr.restore_request(secret=SECRET, now=int(time.time()), request_id=uuid.uuid4().hex,
                                 engine="keyvalue", tenant="bench", instance_id=instance)
        total += len(await _send(http, endpoint, req))
    return total / MiB / (time.perf_counter() - started)


async def store_chain(http, endpoint, instance, chain_mib):
    pieces = max(1, chain_mib // 4)
    body = os.urandom(4 * MiB - 4096)
    await _send(http, endpoint, _push(instance, "full", None, Cursor(1, 0), body), body)
    for i in range(1, pieces):
        await _send(http, endpoint, _push(instance, "delta", Cursor(1, i - 1), Cursor(1, i), body), body)


async def health_latency(http, endpoint, n) -> list[float]:
    out = []
    for _ in range(n):
        req = sr.health_request(secret=SECRET, now=int(time.time()))
        started = time.perf_counter()
        await _send(http, endpoint, req)
        out.append(time.perf_counter() - started)
    return out


async def main(args) -> None:
    s3 = await asyncio.to_thread(lambda: EmbeddedS3().start())
    try:
        function = await start_function(FunctionConfig(secret=SECRET, s3_endpoint=s3.endpoint,
                                                       bucket="bench-aiohttp"), "127.0.0.1", 0)
        host = await start_lambda_function(LambdaFunctionSettings(
            secret=SECRET, s3_endpoint=s3.endpoint, bucket="bench-lambda", instances_max=args.clients))
        try:
            async with aiohttp.ClientSession(auto_decompress=False,
                                             connector=aiohttp.TCPConnector(limit=64)) as http:
                await _run(args, http, function.endpoint, host)
        finally:
            await host.stop()
            await function.stop()
    finally:
        await asyncio.to_thread(s3.stop)


async def _run(args, http, aio, host) -> None:
    lam = host.endpoint
    await persist_rate(http, lam, args.clients, 2, "warmup")  # start the instances: measure warm
    await persist_rate(http, aio, args.clients, 2, "warmup")
    rates = {"lambda": [], "aiohttp": []}
    for _ in range(2):  # alternate, so that neither gets a quieter machine
        rates["aiohttp"].append(await persist_rate(http, aio, args.clients, args.pushes, "aio"))
        rates["lambda"].append(await persist_rate(http, lam, args.clients, args.pushes, "lam"))
    lam_rate, aio_rate = statistics.median(rates["lambda"]), statistics.median(rates["aiohttp"])
    print(f"persist rate ({args.clients} engines, 4 KiB deltas): lambda {lam_rate:.1f} req/s, "
          f"aiohttp {aio_rate:.1f} req/s, ratio {lam_rate / aio_rate:.2f}")

    await store_chain(http, aio, "chain-aio", args.chain_mib)
    await store_chain(http, lam, "chain-lam", args.chain_mib)
    aio_mib = await restore_rate(http, aio, "chain-aio", args.restores)
    lam_mib = await restore_rate(http, lam, "chain-lam", args.restores)
    print(f"restore throughput ({args.chain_mib} MiB chain, streamed): lambda {lam_mib:.1f} MiB/s, "
          f"aiohttp {aio_mib:.1f} MiB/s, ratio {lam_mib / aio_mib:.2f}")

    aio_health = statistics.median(await health_latency(http, aio, 30))
    warm = statistics.median(await health_latency(http, lam, 30))
    colds, spawn_to_poll = [], []
    for _ in range(args.colds):
        host.reap_idle()
        await asyncio.sleep(0.2)  # let the reaped runtimes exit before the next start
        before = len(host.counters.cold_start_s)
        colds += await health_latency(http, lam, 1)
        spawn_to_poll += host.counters.cold_start_s[before:]
    cold = statistics.median(colds)
    print(f"warm invocation (GET /health): lambda {warm * 1000:.1f} ms, aiohttp {aio_health * 1000:.1f} ms, "
          f"ratio {warm / aio_health:.2f}")
    print(f"cold start (GET /health on a new runtime process, median of {args.colds}): {cold * 1000:.0f} ms "
          f"end to end ({statistics.median(spawn_to_poll) * 1000:.0f} ms process start to first poll), "
          f"ratio to a warm invocation {cold / warm:.1f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--pushes", type=int, default=40)
    parser.add_argument("--chain-mib", type=int, default=16)
    parser.add_argument("--restores", type=int, default=3)
    parser.add_argument("--colds", type=int, default=5)
    asyncio.run(main(parser.parse_args()))
