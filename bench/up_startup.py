"""`wkp-emu up`: time to ready, idle RSS per engine, control API latency, idle CPU.

Each figure is printed beside a baseline measured in the same run:
- time to ready vs starting the same number of bare Python interpreters that
  import what an engine imports (aiohttp, zstandard, croniter), in parallel;
- idle RSS per engine vs the RSS of such a bare interpreter;
- `status` latency (GET /health + /v1/fleet, what `wkp-emu status` does) vs
  GET /status on one engine (a trivial aiohttp handler);
- idle CPU of the whole emulator as a fraction of one core over a quiet window.

    python bench/up_startup.py [--fleets 4,64] [--idle-seconds 10]
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench._common import env  # noqa: E402

KINDS = ("relational", "document", "graph", "inmemory", "keyvalue", "vector", "markdown", "filestore")
BARE = "import aiohttp, zstandard, croniter, json, sys; sys.stdout.write('ready\\n'); sys.stdout.flush(); sys.stdin.read()"


def fleet_toml(n: int) -> str:
    head = ("[emulator]\ncontrol_port = 0\n[function]\nport = 0\n[discovery]\nenabled = false\n"
            "[defaults.env]\nWEFTKIT_PERSIST_SCHEDULE = \"*/15 * * * *\"\n")
    if n == 4:  # the default fleet of seed 000's compose example
        return head + "[fleet.relational]\nreplicas = 1\n[fleet.vector]\nreplicas = 2\n[fleet.filestore]\nreplicas = 1\n"
    per, extra = divmod(n, len(KINDS))
    return head + "".join(f"[fleet.{k}]\nreplicas = {per + (i < extra)}\n" for i, k in enumerate(KINDS))


def bare_interpreters(n: int) -> tuple[float, int]:
    started = time.perf_counter()
    procs = [subprocess.Popen([sys.executable, "-c", BARE], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, env=env()) for _ in range(n)]
    for p in procs:
        p.stdout.readline()
    elapsed = time.perf_counter() - started
    rss = statistics.median(psutil.Process(p.pid).memory_info().rss for p in procs)
    for p in procs:
        p.kill()
        p.wait()
    return elapsed, int(rss)


def get(url: str) -> float:
    started = time.perf_counter()
    with urllib.request.urlopen(url, timeout=30) as resp:
        resp.read()
    return time.perf_counter() - started


def measure(n: int, idle_s: float) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        cfg = Path(tmp) / "wkp-emu.toml"
        cfg.write_text(fleet_toml(n))
        started = time.perf_counter()
        up = subprocess.Popen([sys.executable, "-m", "emulator.cli", "up", "--headless", "--config", str(cfg),
                               "--state-dir", str(Path(tmp) / "state")],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env())
        ready = None
        for line in up.stdout:
            event = json.loads(line)
            if event["kind"] == "emulator.ready":
                ready = event["data"]
                break
        to_ready = time.perf_counter() - started
        try:
            engines = [psutil.Process(p) for p in ready["children"]]
            time.sleep(2)  # let start-up work settle before measuring idle
            rss = statistics.median(p.memory_info().rss for p in engines)
            control = ready["control"]
            fleet = json.loads(urllib.request.urlopen(control + "/v1/fleet").read())["engines"]
            engine_status = f"http://127.0.0.1:{fleet[0]['port']}/status"
            status_lat = statistics.median(get(control + "/health") + get(control + "/v1/fleet")
                                           for _ in range(30))
            engine_lat = statistics.median(get(engine_status) for _ in range(30))
            everyone = [psutil.Process(up.pid)] + engines
            before = sum(p.cpu_times().user + p.cpu_times().system for p in everyone)
            time.sleep(idle_s)
            cpu = sum(p.cpu_times().user + p.cpu_times().system for p in everyone) - before
        finally:
            up.terminate()
            up.wait(120)
    bare_s, bare_rss = bare_interpreters(n)
    return {"engines": n, "ready_s": to_ready, "bare_s": bare_s, "rss": rss, "bare_rss": bare_rss,
            "status_ms": status_lat * 1000, "engine_ms": engine_lat * 1000, "idle_core": cpu / idle_s}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fleets", default="4,64")
    ap.add_argument("--idle-seconds", type=float, default=10)
    args = ap.parse_args()
    for n in (int(x) for x in args.fleets.split(",")):
        r = measure(n, args.idle_seconds)
        mib = 1024 * 1024
        print(f"up with {n:>2} engines: ready in {r['ready_s']:.1f} s vs {r['bare_s']:.1f} s for {n} bare "
              f"interpreters (ratio {r['ready_s'] / r['bare_s']:.2f}); idle RSS/engine {r['rss'] / mib:.0f} MiB "
              f"vs bare {r['bare_rss'] / mib:.0f} MiB (ratio {r['rss'] / r['bare_rss']:.2f}); status "
              f"{r['status_ms']:.1f} ms vs engine /status {r['engine_ms']:.1f} ms (ratio "
              f"{r['status_ms'] / r['engine_ms']:.1f}); idle CPU {r['idle_core'] * 100:.1f}% of one core",
              flush=True)


if __name__ == "__main__":
    main()
