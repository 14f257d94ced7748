"""The reference functions against the aiohttp function, in the same run.

Each reference function runs on its local stand-in, as `wkp-emu up --function
NAME` runs it: Cloud Functions under functions-framework on the GCS emulator,
Azure Functions in wkp-emu's v2 host on Azurite, and (when its host is there)
Lambda in runtime processes behind the local Function URL on moto. The
baseline is `wkp-emu function` on its embedded moto. Every figure is a ratio
against the baseline measured in the same run, in alternating rounds; the
median over rounds is printed with each round's ratio.

- persist rate: CLIENTS engines each pushing a full then DELTAS deltas of
  4 KiB (requests per second);
- restore throughput: one chain of a RESTORE_MIB MiB full restored whole,
  RESTORES times (MiB per second).

What is compared is the function *and its store stand-in* together: the GCS
emulator serves one request at a time and Azurite is a Node process, so a
ratio says what the local stack gives, not what the platforms would.

    python bench/reference_functions.py [--clients 8] [--deltas 30] [--restore-mib 16]
                                        [--restores 3] [--rounds 3] [--only gcf,azure,lambda]
"""
from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import aiohttp  # noqa: E402

from bench._common import SECRET, env, median, start_function, stop  # noqa: E402
from emulator.protocol import signed_requests as sr  # noqa: E402
from emulator.protocol.codec import Encoding  # noqa: E402
from emulator.protocol.cursor import Cursor  # noqa: E402

DELTA = 4096
MiB = 1024 * 1024


def _push(instance: str, kind: str, frm, to, body: bytes, rid: str):
    return sr.persist_request(secret=SECRET, body=body, now=int(time.time()), request_id=rid,
                              engine="keyvalue", tenant="bench", instance_id=instance,
                              strategy="delta", kind=kind, cursor_from=frm, cursor_to=to,
                              encoding=Encoding.NONE)


async def _post(http, endpoint, instance, kind, frm, to, body, rid):
    req = _push(instance, kind, frm, to, body, rid)
    async with http.post(endpoint + "/persist", data=body, headers=req.headers) as resp:
        if resp.status != 200:
            raise RuntimeError(f"{endpoint}: push answered {resp.status}: {(await resp.text())[:200]}")


async def persist_rate(endpoint: str, clients: int, deltas: int, tag: str) -> float:
    body = os.urandom(DELTA)

    async def chain(http, instance):
        await _post(http, endpoint, instance, "full", None, Cursor(0, 0), body, f"{instance}-0")
        for s in range(deltas):
            await _post(http, endpoint, instance, "delta", Cursor(0, s), Cursor(0, s + 1), body,
                        f"{instance}-{s + 1}")

    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(auto_decompress=False, connector=connector,
                                     timeout=aiohttp.ClientTimeout(total=600)) as http:
        started = time.perf_counter()
        await asyncio.gather(*(chain(http, f"{tag}-c{i}") for i in range(clients)))
        return clients * (deltas + 1) / (time.perf_counter() - started)


async def restore_throughput(endpoint: str, size: int, restores: int, tag: str) -> float:
    instance = f"{tag}-restore"
    async with aiohttp.ClientSession(auto_decompress=False, timeout=aiohttp.ClientTimeout(total=600)) as http:
        await _post(http, endpoint, instance, "full", None, Cursor(0, 1), os.urandom(size), f"{instance}-f")
        started, total = time.perf_counter(), 0
        for i in range(restores):
            req = sr.restore_request(secret=SECRET, now=int(time.time()), request_id=f"{instance}-r{i}",
                                     engine="keyvalue", tenant="bench", instance_id=instance)
            async with http.get(endpoint + req.target, headers=req.headers) as resp:
                if resp.status != 200:
                    raise RuntimeError(f"{endpoint}: restore answered {resp.status}")
                async for chunk in resp.content.iter_chunked(MiB):
                    total += len(chunk)
        return total / MiB / (time.perf_counter() - started)


def start_lambda(max_payload: int, log: Path):
    """`wkp-emu lambda-host` (its own moto, its output in `log`), or None when this checkout
    has no Lambda host."""
    try:
        import emulator.platforms.lambda_host.command  # noqa: F401
    except ImportError:
        return None
    proc = subprocess.Popen([sys.executable, "-m", "emulator.cli", "lambda-host", "--port", "0", "--secret",
                             SECRET, "--max-payload", str(max_payload)], stdout=subprocess.PIPE,
                            stderr=log.open("ab"), env=env())
    import json
    line = proc.stdout.readline()
    if not line:
        raise RuntimeError(f"wkp-emu lambda-host exited with {proc.wait()} before it was ready")
    return proc, json.loads(line)["endpoint"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--deltas", type=int, default=30, help="deltas per client per round")
    ap.add_argument("--restore-mib", type=int, default=16)
    ap.add_argument("--restores", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--only", default="gcf,azure,lambda", help="which reference functions (comma-separated)")
    args = ap.parse_args()
    wanted = [w.strip() for w in args.only.split(",") if w.strip()]
    from emulator.platforms.azure_host.standin import MISSING, azurite_binary, start_azure
    from emulator.platforms.gcf_host.standin import start_gcf
    from emulator.platforms.standin_process import StandInFailed

    state = Path(tempfile.mkdtemp(prefix="wkp-bench-ref-"))
    payload = max(args.restore_mib * MiB, 1 * MiB)
    base_proc, base = start_function("--max-payload", str(payload))
    targets, cleanup = {}, [lambda: stop(base_proc)]
    try:
        if "gcf" in wanted:
            gcf = start_gcf(SECRET, state_dir=state / "gcf", max_payload=payload)
            cleanup.append(gcf.stop)
            targets["gcf"] = gcf.endpoint
        if "azure" in wanted:
            if azurite_binary() is None:
                print(f"azure: skipped: {MISSING}", flush=True)
            else:
                az = start_azure(SECRET, state_dir=state / "azure", max_payload=payload)
                cleanup.append(az.stop)
                targets["azure"] = az.endpoint
        if "lambda" in wanted:
            started = start_lambda(min(payload, 4 * MiB), state / "lambda-host.log")
            if started is None:
                print("lambda: skipped: this checkout has no Lambda host", flush=True)
            else:
                cleanup.append(lambda p=started[0]: stop(p))
                targets["lambda"] = started[1]
        for name, endpoint in targets.items():
            size = min(args.restore_mib * MiB, 4 * MiB) if name == "lambda" else args.restore_mib * MiB
            rates, reads = [], []
            for r in range(args.rounds):  # alternate: the machine's drift hits both sides alike
                b = asyncio.run(persist_rate(base["endpoint"], args.clients, args.deltas, f"b-{name}{r}"))
                f = asyncio.run(persist_rate(endpoint, args.clients, args.deltas, f"{name}{r}"))
                rates.append((f, b))
                b = asyncio.run(restore_throughput(base["endpoint"], size, args.restores, f"b-{name}{r}"))
                f = asyncio.run(restore_throughput(endpoint, size, args.restores, f"{name}{r}"))
                reads.append((f, b))
            for what, unit, pairs, detail in (
                    ("persist rate", "req/s", rates,
                     f"{args.clients} clients x (full + {args.deltas} deltas of 4 KiB)"),
                    ("restore throughput", "MiB/s", reads,
                     f"a {size // MiB} MiB full restored {args.restores} times")):
                ratios = [f / b for f, b in pairs]
                print(f"{name:6s} {what}: {median(ratios):.2f}x the aiohttp function "
                      f"({name} {median([f for f, _ in pairs]):.1f} {unit}, aiohttp "
                      f"{median([b for _, b in pairs]):.1f} {unit}; {detail}; rounds "
                      f"{' '.join(f'{x:.2f}' for x in ratios)})", flush=True)
    except StandInFailed as exc:
        print(f"a stand-in did not start: {exc}", file=sys.stderr)
        sys.exit(1)
    finally:
        for step in reversed(cleanup):
            step()


if __name__ == "__main__":
    main()
