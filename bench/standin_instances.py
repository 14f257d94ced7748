"""What a cold start costs on the Cloud Functions and Azure stand-ins, against a warm request
in the same run.

Each stand-in's store (the GCS emulator; Azurite) and its front with worker-process instances
(emulator/platforms/worker_instances.py), as `wkp-emu up --function gcf|azure` runs them. A
signed GET /health is sent `--cold` times onto a new instance (`X-Wkp-Emu-Instance: new`: a
worker process starts, imports the function and listens) and `--warm` times onto a warm one;
the instances started are reaped between probes so at most two processes live.

Prints, per stand-in, the p50 of each and their ratio (cold over warm).

    python bench/standin_instances.py [--cold 5] [--warm 40] [--only gcf,azure]
"""
from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import aiohttp  # noqa: E402

from bench._common import SECRET, median  # noqa: E402
from emulator.platforms.front import FunctionFront  # noqa: E402
from emulator.platforms.worker_instances import WorkerInstances  # noqa: E402
from emulator.protocol import signed_requests as sr  # noqa: E402
from emulator.protocol.function_instances import COLD_HEADER, INSTANCE_HEADER, NEW_INSTANCE  # noqa: E402


async def probe(session, endpoint: str, steer: str | None) -> tuple[float, dict]:
    request = sr.health_request(secret=SECRET, now=int(time.time()))
    headers = {**request.headers, **({INSTANCE_HEADER: steer} if steer else {})}
    started = time.perf_counter()
    async with session.get(endpoint + request.target, headers=headers) as reply:
        await reply.read()
        assert reply.status == 200, (reply.status, await reply.text())
        return time.perf_counter() - started, dict(reply.headers)


async def measure(name: str, standin, root: Path, cold_n: int, warm_n: int) -> str:
    instances = await WorkerInstances(standin.start_worker, root).start()
    front = FunctionFront(instances)
    endpoint = await front.start("127.0.0.1", 0)
    cold, warm = [], []
    try:
        async with aiohttp.ClientSession() as session:
            _, first = await probe(session, endpoint, None)  # i-1: the warm instance
            for _ in range(cold_n):
                took, headers = await probe(session, endpoint, NEW_INSTANCE)
                assert headers.get(COLD_HEADER) == "1"
                cold.append(took)
                await instances.reap_idle_and_wait()  # the new one and i-1 go: start i-1's like again
                await probe(session, endpoint, None)
            for _ in range(warm_n):
                took, headers = await probe(session, endpoint, None)
                assert COLD_HEADER not in headers
                warm.append(took)
    finally:
        await front.stop()
        await instances.stop()
    c, w = median(cold), median(warm)
    return (f"{name:6} GET /health on a new instance (a worker process starting) p50 {c * 1000:.0f} ms, "
            f"on a warm one p50 {w * 1000:.1f} ms, ratio {c / w:.0f} ({cold_n} cold, {warm_n} warm)")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cold", type=int, default=5)
    parser.add_argument("--warm", type=int, default=40)
    parser.add_argument("--only", default="gcf,azure")
    args = parser.parse_args()
    from emulator.platforms.azure_host.standin import MISSING, azurite_binary, start_azure
    from emulator.platforms.gcf_host.standin import start_gcf
    with tempfile.TemporaryDirectory(prefix="wkp-bench-standins-") as tmp:
        state = Path(tmp)
        for name in args.only.split(","):
            if name == "azure" and azurite_binary() is None:
                print(f"azure  skipped: {MISSING}")
                continue
            start = {"gcf": lambda: start_gcf(SECRET, state_dir=state / "gcf", function=False),
                     "azure": lambda: start_azure(SECRET, state_dir=state / "azure", function=False)}[name]
            standin = start()
            try:
                print(asyncio.run(measure(name, standin, state / name / "instances", args.cold, args.warm)),
                      flush=True)
            finally:
                standin.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
