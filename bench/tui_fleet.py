"""The fleet view's costs, each beside `wkp-emu status` doing the same work in the same run.

1. Idle CPU of the view attached to a 64-engine emulator (goal <= 3 % of one core),
   vs `wkp-emu status` run once a second (what `watch -n1 wkp-emu status` costs).
2. Engine event -> repainted row, p50/p99, with every engine writing and pushing
   (goal p99 <= 250 ms), vs `watch -n1 wkp-emu status`: a change waits for the next
   poll (up to 1 s) plus one `status` run.
3. Key press -> paint while scrolling and filtering a recorded feed of 1,000 engines
   (goal <= 50 ms), vs `wkp-emu status` formatting and printing the same 1,000 rows.

The view runs in a real pseudo-terminal (tmux) as bench/tui_probe.py: the real app,
instrumented only to note times.

    python bench/tui_fleet.py [--engines 64] [--idle-seconds 20] [--busy-seconds 30] [--feed-engines 1000]
"""
from __future__ import annotations

import argparse
import io
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench._common import REPO, env  # noqa: E402
from bench.up_startup import KINDS, fleet_toml  # noqa: E402

PROBE = [sys.executable, str(REPO / "bench" / "tui_probe.py")]
FEED = REPO / "tests" / "tui" / "feed.json"


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] if values else float("nan")


class Terminal:
    """A tmux session of 160x48 running one command."""

    def __init__(self, name: str, command: list[str]):
        self.socket = f"wkp-bench-{name}"
        environment = " ".join(f"{k}={v!r}" for k, v in env().items() if k in ("PATH", "PYTHONPATH", "HOME"))
        line = f"cd {REPO} && env -u COLUMNS -u LINES {environment} TERM=xterm-256color " + " ".join(command)
        self.tmux("new-session", "-d", "-s", "b", "-x", "160", "-y", "48", line)

    def tmux(self, *args: str) -> str:
        return subprocess.run(["tmux", "-L", self.socket, "-f", "/dev/null", *args], capture_output=True,
                              text=True, timeout=30).stdout

    def process(self) -> psutil.Process:
        pane = int(self.tmux("display", "-p", "-t", "b", "#{pane_pid}").strip())
        shell = psutil.Process(pane)
        for _ in range(100):
            kids = [p for p in [shell, *shell.children(recursive=True)]
                    if "tui_probe" in " ".join(p.cmdline())]
            if kids:
                return kids[0]
            time.sleep(0.1)
        raise RuntimeError("the probe did not start")

    def keys(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", "b", *keys)

    def close(self) -> None:
        self.tmux("kill-server")


def run_probe(name: str, args: list[str], seconds: float, out: Path, during=None) -> tuple[dict, float]:
    """(the probe's results, its CPU as a share of one core over the last `seconds` - 5)."""
    term = Terminal(name, PROBE + args + ["--seconds", str(seconds), "--out", str(out)])
    try:
        proc = term.process()
        time.sleep(5)  # start-up and the first fill are not idle
        cpu0, t0 = sum(proc.cpu_times()[:2]), time.monotonic()
        if during:
            during(term)
        while not out.exists() and time.monotonic() - t0 < seconds + 60:
            time.sleep(0.2)
        cpu = (sum(proc.cpu_times()[:2]) - cpu0) / (time.monotonic() - t0) if proc.is_running() else float("nan")
        return json.loads(out.read_text()), cpu
    finally:
        term.close()


def status_runs(state_dir: Path, n: int = 5) -> tuple[float, list[float]]:
    """(CPU seconds per `wkp-emu status` run, wall seconds of each)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    walls = []
    for _ in range(n):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "emulator.cli", "status", "--state-dir", str(state_dir)],
                       capture_output=True, env=env(), cwd=REPO, timeout=60)
        walls.append(time.perf_counter() - t)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ((after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)) / n, walls


def live(engines: int, idle_s: float, busy_s: float, tmp: Path) -> None:
    cfg, state = tmp / "wkp-emu.toml", tmp / "state"
    cfg.write_text(fleet_toml(engines).replace('"*/15 * * * *"', '"*/2 * * * * *"'))
    up = subprocess.Popen([sys.executable, "-m", "emulator.cli", "up", "--headless", "--config", str(cfg),
                           "--state-dir", str(state)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                          env=env(), cwd=REPO)
    try:
        for line in up.stdout:
            if json.loads(line)["kind"] == "emulator.ready":
                control = json.loads(line)["data"]["control"]
                break
        subprocess.Popen(["cat"], stdin=up.stdout, stdout=subprocess.DEVNULL)  # keep the pipe drained
        result, cpu = run_probe("idle", ["--control", control], idle_s, tmp / "idle.json")
        status_cpu, status_walls = status_runs(state)
        print(f"TUI idle CPU, {engines} engines: {cpu * 100:.1f} % of one core (goal <= 3 %)   "
              f"beside `wkp-emu status` once a second: {status_cpu * 100:.1f} % of one core "
              f"(ratio {cpu / status_cpu:.2f})", flush=True)

        def workload(term):
            for kind in KINDS:
                post(control, f"/v1/fleet/{kind}/workload", {"rate": 2})
        result, busy_cpu = run_probe("busy", ["--control", control], busy_s, tmp / "busy.json", during=workload)
        waits = result["event_waits"]
        watch_p99 = 1.0 + pct(status_walls, 0.99)
        print(f"engine event -> repainted row, {engines} engines writing: p50 {pct(waits, 0.5) * 1000:.0f} ms, "
              f"p99 {pct(waits, 0.99) * 1000:.0f} ms over {len(waits)} events (goal p99 <= 250 ms)   beside "
              f"`watch -n1 wkp-emu status`: p99 {watch_p99 * 1000:.0f} ms (one poll interval + a status run "
              f"of p99 {pct(status_walls, 0.99) * 1000:.0f} ms; ratio {pct(waits, 0.99) / watch_p99:.2f})", flush=True)
        print(f"  the view's own CPU meanwhile: {busy_cpu * 100:.1f} % of one core; load average "
              f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", flush=True)
    finally:
        up.terminate()
        up.wait(180)


def post(control: str, path: str, body: dict) -> None:
    req = urllib.request.Request(control + path, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    urllib.request.urlopen(req, timeout=60).read()


def recorded(n: int, tmp: Path) -> None:
    def press(term, key: str, pause: float) -> None:
        term.keys(key)
        time.sleep(pause)

    def scroll_and_filter(term):
        for _ in range(2):  # twice through: about 200 keys, so that p99 is not just the worst
            for _ in range(40):
                press(term, "Down", 0.08)
            for _ in range(8):
                press(term, "PageDown", 0.15)
            for _ in range(2):
                press(term, "PageUp", 0.15)
            press(term, "/", 0.3)
            for ch in "vector-1":      # typing a filter
                press(term, ch, 0.2)
            for _ in range(8):         # clearing it by hand
                press(term, "BSpace", 0.2)
            for ch in "run":
                press(term, ch, 0.2)
            press(term, "Enter", 0.3)  # back to the table, filtered
            for _ in range(5):
                press(term, "Down", 0.08)
            press(term, "Escape", 0.5)  # clearing the filter
            for _ in range(3):
                press(term, "PageDown", 0.15)
            for _ in range(20):
                press(term, "Up", 0.08)
    result, _ = run_probe("feed", ["--feed", str(FEED), "--engines", str(n)], 60, tmp / "feed.json",
                          during=scroll_and_filter)
    waits = result["key_waits"]
    by_key: dict[str, list[float]] = {}
    for name, wait in zip(result.get("key_names", []), waits):
        by_key.setdefault("typing" if len(name) == 1 else name, []).append(wait)
    slow = ", ".join(f"{k} {max(v) * 1000:.0f}" for k, v in sorted(by_key.items(), key=lambda kv: -max(kv[1])))
    cpu = result.get("key_cpu", [])
    table_ms = status_table_ms(n)
    print(f"key press -> paint, {result['rows']} engines (recorded feed), scrolling and filtering: "
          f"p50 {pct(waits, 0.5) * 1000:.1f} ms, p99 {pct(waits, 0.99) * 1000:.1f} ms over {len(waits)} keys "
          f"(goal <= 50 ms)   beside `wkp-emu status` formatting and printing the same {n} rows: "
          f"{table_ms:.1f} ms (ratio {pct(waits, 0.99) * 1000 / table_ms:.2f})", flush=True)
    print(f"  the view's own CPU per key: p50 {pct(cpu, 0.5) * 1000:.1f} ms, p99 {pct(cpu, 0.99) * 1000:.1f} ms; "
          f"slowest of each key, wall (ms): {slow}; load average {os.getloadavg()[0]:.1f} on "
          f"{os.cpu_count()} cores", flush=True)


def status_table_ms(n: int) -> float:
    from emulator.api.tables import status_table
    from emulator.tui.recording import load, scaled
    rec = scaled(load(FEED), n)
    engines = rec["views"]["/v1/fleet"]["engines"]
    times = []
    for _ in range(5):
        t = time.perf_counter()
        print(status_table(rec["views"]["/health"], {}, engines), file=io.StringIO())
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--engines", type=int, default=64)
    p.add_argument("--idle-seconds", type=float, default=20)
    p.add_argument("--busy-seconds", type=float, default=30)
    p.add_argument("--feed-engines", type=int, default=1000)
    p.add_argument("--skip-live", action="store_true")
    p.add_argument("--skip-feed", action="store_true")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if not args.skip_feed:
            recorded(args.feed_engines, Path(tmp))
        if not args.skip_live:
            live(args.engines, args.idle_seconds, args.busy_seconds, Path(tmp))


if __name__ == "__main__":
    main()
