"""Soak: 64 engines pushing every second for 10 minutes; errors, memory slope, descriptors.

    python bench/soak.py [--minutes 10] [--engines-per-kind 8] [--interval 5] [--warmup 60]

One `wkp-emu up` (through emulator.testing.start_emulator) with eight engines
of each kind, each writing one small value a second and pushing every second
(`WEFTKIT_PERSIST_SCHEDULE = "* * * * * *"`). Every few seconds it samples:

- the function's request counters (`GET /v1/function`): every answer that is
  not a 2xx (and every dropped connection) is an error;
- the fleet (`GET /v1/fleet`): an engine not running is an error;
- RSS and open descriptors of the supervisor process (the WKP-1 function runs
  inside it, so its figure is the function's too) and of the embedded S3
  store, a child process of its own.

Memory is judged by the least-squares slope of RSS over time after a warm-up
(allocator arenas, connection pools and caches fill in the first minute). The
threshold is 1 MiB/min: with 64 pushes a second, the function serves ~3840
requests a minute, so a leak of 270 bytes or more per request would exceed it,
while allocator noise over 10 minutes stays well below. The same-run baseline
is the warm-up slope (what a stack that is still settling looks like) and the
residual noise of the fit. Descriptors must not grow: their floor (minimum)
over the last minute may exceed the floor over the first minute after warm-up
by at most 4 (connections to 64 engines come and go between samples; a leaked
descriptor raises the floor). The store (moto) keeps every object in
memory, so its RSS is meant to grow with what is pushed: it is reported beside
the growth of what was pushed into it (the function's counters), not judged.

Exit status 0 when every verdict holds, 1 otherwise.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

KINDS = ("relational", "document", "graph", "inmemory", "keyvalue", "vector", "markdown", "filestore")
SLOPE_LIMIT_MIB_PER_MIN = 1.0
FD_GROWTH_LIMIT = 4
STORE = "store (moto)"


def soak_toml(per_kind: int, rate: float, value_bytes: int, max_inflight: int | None = None) -> str:
    head = ("[discovery]\nenabled = false\n"
            + (f"[function]\nmax_inflight = {max_inflight}\n" if max_inflight else "") +
            "[defaults.env]\nWEFTKIT_PERSIST_SCHEDULE = \"* * * * * *\"\n")
    fleet = "".join(f"[fleet.{k}]\nreplicas = {per_kind}\n[workload.{k}]\nrate = {rate:g}\n"
                    f"value_bytes = {value_bytes}\n" for k in KINDS)
    return head + fleet


@dataclass
class Series:
    """One process's samples: (minutes since start, RSS MiB, open descriptors)."""
    name: str
    pid: int
    points: list[tuple[float, float, int]] = field(default_factory=list)

    def sample(self, minutes: float) -> None:
        try:
            p = psutil.Process(self.pid)
            self.points.append((minutes, p.memory_info().rss / 2**20, p.num_fds()))
        except psutil.Error:
            pass


def slope(points: list[tuple[float, float]]) -> tuple[float, float]:
    """Least-squares slope (y per x) and the residual standard deviation."""
    if len(points) < 3:
        return float("nan"), float("nan")
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    b = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx
    residuals = [y - (my + b * (x - mx)) for x, y in zip(xs, ys)]
    return b, statistics.pstdev(residuals)


def error_statuses(function: dict) -> dict[str, int]:
    """path status -> count, for every answer that is not a 2xx (and dropped connections)."""
    out = {}
    for path, info in function.items():
        if not isinstance(info, dict):
            continue
        for status, n in info.get("requests", {}).items():
            if not (status.isdigit() and 200 <= int(status) < 300) and n:
                out[f"{path} {status}"] = n
    return out


def persists(function: dict) -> int:
    req = function.get("/persist", {}).get("requests", {}) if isinstance(function.get("/persist"), dict) else {}
    return req.get("200", 0) + req.get("202", 0)


def store_pid(supervisor: int) -> int | None:
    for child in psutil.Process(supervisor).children():
        try:
            if any("moto" in part or "store" in part for part in child.cmdline()):
                return child.pid
        except psutil.Error:
            continue
    return None


def run(args) -> int:
    from emulator.scenario import live
    from emulator.testing import start_emulator
    live.READY_TIMEOUT_S = max(live.READY_TIMEOUT_S, args.ready_timeout)  # 64 engines on 2 busy cores
    n = args.engines_per_kind * len(KINDS)
    print(f"soak: {n} engines ({args.engines_per_kind} per kind), push every second, "
          f"{args.rate:g} write/s of {args.value_bytes} B each, {args.minutes:g} min, "
          f"function max_inflight {args.max_inflight or 'default (256)'}, "
          f"sample every {args.interval:g}s", flush=True)
    started = time.monotonic()
    with start_emulator(toml=soak_toml(args.engines_per_kind, args.rate, args.value_bytes,
                                       args.max_inflight)) as emu:
        print(f"stack ready in {time.monotonic() - started:.1f}s", flush=True)
        sup = emu._stack.popen.pid
        procs = [Series("supervisor+function", sup)]
        spid = store_pid(sup)
        if spid:
            procs.append(Series(STORE, spid))
        first = emu.control.get("/v1/function")
        t0 = time.monotonic()
        bad_engines: dict[str, str] = {}
        last = first
        while (elapsed := time.monotonic() - t0) < args.minutes * 60:
            minutes = elapsed / 60
            for s in procs:
                s.sample(minutes)
            last = emu.control.get("/v1/function")
            for e in emu.engines():
                if e["state"] != "running":
                    bad_engines.setdefault(e["name"], f"{e['state']} at {minutes:.2f} min")
            if args.progress:
                print(f"  t={minutes:5.2f} min  " + "  ".join(
                    f"{s.name} {s.points[-1][1]:.1f} MiB {s.points[-1][2]} fds" for s in procs if s.points)
                    + f"  pushes {persists(last) - persists(first)}", flush=True)
            time.sleep(max(0.0, t0 + (len(procs[0].points)) * args.interval - time.monotonic()))
        span_min = (time.monotonic() - t0) / 60
    return report(args, n, procs, first, last, bad_engines, span_min)


def report(args, n, procs, first, last, bad_engines, span_min) -> int:
    before, after = error_statuses(first), error_statuses(last)
    errors = {k: v - before.get(k, 0) for k, v in after.items() if v - before.get(k, 0)}
    pushes = persists(last) - persists(first)
    ok = True
    print(f"pushes acknowledged: {pushes} in {span_min:.2f} min = {pushes / (span_min * 60):.1f}/s "
          f"(at most {n}/s: each engine pushes every second it has new writes)")
    print(f"errors: {sum(errors.values())} non-2xx answers"
          + (f" ({', '.join(f'{k}: {v}' for k, v in sorted(errors.items()))})" if errors else "")
          + f", {len(bad_engines)} engines not running"
          + (f" ({', '.join(f'{k} {v}' for k, v in sorted(bad_engines.items()))})" if bad_engines else ""))
    ok &= not errors and not bad_engines
    warm = args.warmup / 60
    for s in procs:
        steady = [(t, m) for t, m, _ in s.points if t >= warm]
        early = [(t, m) for t, m, _ in s.points if t < warm]
        b, noise = slope(steady)
        b_all, _ = slope([(t, m) for t, m, _ in s.points])
        b_warm, _ = slope(early)
        end = s.points[-1][0]
        fds = [f for t, _, f in s.points if t >= warm] or [f for _, _, f in s.points]
        fd_start = min([f for t, _, f in s.points if warm <= t < warm + 1] or fds)
        fd_end = min([f for t, _, f in s.points if t >= end - 1] or fds)
        judged = s.name != STORE  # the store holds every object pushed: it is meant to grow
        mem_ok = b <= SLOPE_LIMIT_MIB_PER_MIN or not judged
        fd_ok = fd_end - fd_start <= FD_GROWTH_LIMIT
        ok &= mem_ok and fd_ok
        print(f"{s.name}: RSS {s.points[0][1]:.1f} -> {s.points[-1][1]:.1f} MiB; slope after warm-up "
              f"{b:+.3f} MiB/min (noise {noise:.2f} MiB; whole run {b_all:+.3f}, warm-up {b_warm:+.3f}) "
              + (f"[{'ok' if mem_ok else 'GROWS'}, limit {SLOPE_LIMIT_MIB_PER_MIN:g}]" if judged else
                 "[not judged: it holds the data]") + "; descriptors "
              
              f"floor {fd_start:g} -> {fd_end:g} (first minute after warm-up -> last minute; all samples "
              f"{min(fds)}..{max(fds)}) [{'ok' if fd_ok else 'GROWS'}]")
    mib = (last.get("/persist", {}).get("bytes_in", 0) - first.get("/persist", {}).get("bytes_in", 0)) / 2**20
    print(f"store contents: +{pushes} objects, +{mib:.1f} MiB pushed in {span_min:.2f} min "
          f"({mib / span_min:.2f} MiB/min of data the store holds in memory)")
    print(f"soak verdict: {'PASS' if ok else 'FAIL'} ({n} engines, {span_min:.1f} min)")
    return 0 if ok else 1


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--minutes", type=float, default=10.0)
    p.add_argument("--engines-per-kind", type=int, default=8)
    p.add_argument("--rate", type=float, default=1.0, help="writes per second per engine")
    p.add_argument("--value-bytes", type=int, default=512)
    p.add_argument("--interval", type=float, default=5.0, help="seconds between samples")
    p.add_argument("--warmup", type=float, default=60.0, help="seconds left out of the slope")
    p.add_argument("--ready-timeout", type=float, default=900, help="seconds the stack may take to start")
    p.add_argument("--max-inflight", type=int, help="the function's concurrency limit (default: "
                   "its own, 256; every engine's schedule fires on the same second, so a limit "
                   "under the fleet's size plus its health checks gets 429s, by design)")
    p.add_argument("--progress", action="store_true", help="print every sample")
    return run(p.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
