"""Measure, on the live stack, the numbers the simulator's model needs; write the calibration profile.

What is measured, each in the same run on this machine:
- the function's persist latency by payload size: `wkp-emu function` on its
  embedded store (as a user starts it), POST /persist of a full snapshot of
  each size (incompressible bytes, sent as-is), request sent to answer read;
- its restore latency by stored size: GET /restore of an instance holding one
  full of that size, request sent to the last byte read;
- engine boot-to-ready: a real engine process started as `wkp-emu up` starts
  one (`python -m emulator.cli engine`) against that function, from the spawn
  to its ready line; once with nothing stored (the restore answers 204) and
  once per size with a stored chain it must restore (a valid relational
  payload pushed beforehand); and its stop, SIGTERM to exit;
- engine starts as a live recovery meets them: the live runner (`wkp-emu
  scenario run`, a fresh `wkp-emu up` with its recorder and sampler) plays a
  generated scenario in which a small fleet writes and pushes while engines
  are recycled one at a time (`--start-singles`), then one kind is scaled out
  by k engines at once and back (`--start-batches`, `--batch-rounds` each);
  each start is the supervisor's own `engine.starting` to `engine.started`
  from the run's evidence, as sim_vs_live reads a scenario's; per k the median, 10th and 90th percentiles (for a
  batch: of its last pod), a recycled engine's stop (`engine.stopping` to
  `engine.stopped`, its final push included) and the load average before and
  after go to `[engine_start]`;
- the engines' push CPU and compression per kind: each kind's typical values
  (engines_fake.kinds) framed and compressed by the engines' own payload code
  (zstd, the default), CPU time per MiB of raw records and the ratio.

Latencies are fitted as lines (base + per MiB): the base matches the
smallest size, the slope is fitted by least squares over the others; medians of `--rounds` requests per size. The result goes to
sim/calibration/default.toml (or --out), with the date and a machine summary.

    python bench/calibrate.py [--rounds 5] [--sizes 4K,256K,2M,16M] [--boot-sizes 1M,8M]
                              [--start-singles 16] [--start-batches 2,4,6] [--batch-rounds 3] [--out FILE]

Prints each fitted figure beside the same-run baseline it is relative to
(the smallest size's latency), and the machine summary.
"""
from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import SECRET, Stack, env as bench_env  # noqa: E402
from emulator.protocol import signed_requests as sr  # noqa: E402
from emulator.protocol.codec import Encoding  # noqa: E402
from emulator.protocol.cursor import Cursor  # noqa: E402
from emulator.protocol.engine_payload import Record  # noqa: E402
from emulator.protocol.names import ENGINE_KINDS  # noqa: E402
from engines_fake import kinds as K  # noqa: E402
from engines_fake.payloads import full_payload  # noqa: E402
from sim.calibration import DEFAULT_FILE, parse_calibration  # noqa: E402

MiB = 1 << 20
TENANT = "calibrate"


def parse_size(text: str) -> int:
    units = {"K": 1024, "M": MiB, "G": 1024 * MiB}
    text = text.strip()
    return int(float(text[:-1]) * units[text[-1].upper()]) if text[-1].upper() in units else int(text)


def machine() -> str:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        model = platform.processor()
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return (f"{model or platform.machine()}, {cpus} CPUs usable, {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()}")


def fit(points: list[tuple[int, float]]) -> tuple[float, float]:
    """seconds = base + per_mib * MiB: the base is the smallest size's latency (small deltas are the
    common push, so they are matched exactly), the slope a least-squares fit through that anchor."""
    (s0, base), rest = points[0], points[1:]
    xs = [(s - s0) / MiB for s, _ in rest]
    sxx = sum(x * x for x in xs)
    slope = sum(x * (t - base) for x, (_, t) in zip(xs, rest)) / sxx if sxx else 0.0
    return base - max(0.0, slope) * s0 / MiB, max(0.0, slope)


class Function:
    def __init__(self, endpoint: str):
        u = urlparse(endpoint)
        self.host, self.port = u.hostname, u.port
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=120)

    def request(self, method: str, target: str, headers: dict, body: bytes | None = None) -> tuple[int, int]:
        self.conn.request(method, target, body=body, headers=headers)
        resp = self.conn.getresponse()
        n = 0
        while chunk := resp.read(MiB):
            n += len(chunk)
        return resp.status, n

    def persist(self, instance: str, cursor: int, body: bytes, encoding=Encoding.NONE) -> int:
        req = sr.persist_request(secret=SECRET, body=body, now=int(time.time()),
                                 request_id=f"{instance}-{cursor}", engine="relational", tenant=TENANT,
                                 instance_id=instance, strategy="incremental", kind="full",
                                 cursor_from=None, cursor_to=Cursor(0, cursor), encoding=encoding)
        status, _ = self.request("POST", req.target, req.headers, body)
        if status != 200:
            raise RuntimeError(f"persist of {len(body)} bytes answered {status}")
        return status

    def restore(self, instance: str) -> int:
        req = sr.restore_request(secret=SECRET, now=int(time.time()), request_id=f"r-{instance}",
                                 engine="relational", tenant=TENANT, instance_id=instance)
        status, n = self.request("GET", req.target, req.headers)
        if status != 200:
            raise RuntimeError(f"restore of {instance} answered {status}")
        return n


def persist_and_restore(fn: Function, sizes: list[int], rounds: int, log) -> tuple[list, list]:
    rng = random.Random(1)
    persist, restore = [], []
    for size in sizes:
        body = rng.randbytes(size)
        took_p, took_r = [], []
        for r in range(rounds):
            instance = f"lat-{size}-{r}"
            t0 = time.perf_counter()
            fn.persist(instance, 1, body)
            took_p.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            got = fn.restore(instance)
            took_r.append(time.perf_counter() - t0)
            if got != size:
                raise RuntimeError(f"restore returned {got} bytes, stored {size}")
        persist.append((size, statistics.median(took_p)))
        restore.append((size, statistics.median(took_r)))
        log(f"  {size / MiB:9.3f} MiB  persist {persist[-1][1] * 1000:8.1f} ms  restore "
            f"{restore[-1][1] * 1000:8.1f} ms  (medians of {rounds})")
    return persist, restore


def relational_payload(raw_bytes: int) -> tuple[bytes, int]:
    """A valid relational full snapshot of about `raw_bytes` of records, zstd-compressed."""
    rng, items, total, i = random.Random(2), [], 0, 0
    while total < raw_bytes:
        value = K.profile("relational").generate(rng, i)
        items.append(Record(i + 1, f"k{i}", value))
        total += len(value) + 16
        i += 1
    frames = b"".join(full_payload("relational", 0, len(items), items))
    return Encoding.ZSTD.compress(frames), len(items)


def boot_engine(endpoint: str, instance: str, data_dir: Path) -> tuple[float, float]:
    """A real engine process started as `wkp-emu up` starts one (`python -m emulator.cli engine`):
    (spawn to its ready line, SIGTERM to its exit with nothing to flush)."""
    env = {**bench_env(), "WEFTKIT_PERSIST_MODE": "serverless", "WEFTKIT_PERSIST_ENDPOINT": endpoint,
           "WEFTKIT_PERSIST_SECRET": SECRET, "WEFTKIT_PERSIST_TENANT": TENANT,
           "WEFTKIT_PERSIST_INSTANCE_ID": instance, "WEFTKIT_PERSIST_SCHEDULE": "0 0 1 1 *"}
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "emulator.cli", "engine", "--kind", "relational",
                             "--data-dir", str(data_dir), "--log-level", "WARNING"], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, env=env)
    try:
        line = proc.stdout.readline()
        took = time.perf_counter() - t0
        if not line:
            raise RuntimeError(f"engine exited with {proc.wait()} before it was ready")
        ready = json.loads(line)
        want = "restored" if instance.startswith("boot-r") else None
        if want and ready.get("boot") != want:
            raise RuntimeError(f"engine booted {ready.get('boot')!r}, expected a restore")
        t1 = time.perf_counter()
        proc.terminate()
        proc.wait(30)
        return took, time.perf_counter() - t1
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def engine_boots(fn: Function, endpoint: str, sizes: list[int], rounds: int, log) -> tuple[float, float, list]:
    with tempfile.TemporaryDirectory(prefix="wkp-calibrate-") as tmp:
        runs = [boot_engine(endpoint, f"boot-e{r}", Path(tmp) / f"e{r}") for r in range(rounds)]
        empty, stop = statistics.median(b for b, _ in runs), statistics.median(s for _, s in runs)
        log(f"  engine boot, nothing stored: {empty * 1000:.0f} ms; SIGTERM to exit: {stop * 1000:.0f} ms "
            f"(medians of {rounds})")
        points = []
        for size in sizes:
            body, n = relational_payload(size)
            took = []
            for r in range(rounds):
                instance = f"boot-r{size}-{r}"
                fn.persist(instance, n, body, Encoding.ZSTD)
                took.append(boot_engine(endpoint, instance, Path(tmp) / instance)[0])
            points.append((len(body), statistics.median(took)))
            log(f"  engine boot restoring {len(body) / MiB:.2f} MiB compressed ({size / MiB:.0f} MiB raw): "
                f"{points[-1][1] * 1000:.0f} ms")
    return empty, stop, points


def kind_codecs(raw_bytes: int) -> dict[str, tuple[float, float]]:
    out = {}
    for kind in ENGINE_KINDS:
        rng, items, total, i = random.Random(3), [], 0, 0
        while total < raw_bytes:
            value = K.profile(kind).generate(rng, i)
            items.append(Record(i + 1, f"k{i}", value))
            total += len(value)
            i += 1
        c0 = time.process_time()
        frames = b"".join(full_payload(kind, 0, len(items), items))
        packed = Encoding.ZSTD.compress(frames)
        cpu = time.process_time() - c0
        out[kind] = (cpu / (len(frames) / MiB), len(frames) / len(packed))
    return out


# ---- engine starts beside a working fleet ------------------------------------------------------

FLEET = {"relational": 1, "keyvalue": 1, "vector": 2}   # a shipped scenario's size of fleet
FLEET_RATE = 20                                          # writes/s per engine
FLEET_SCHEDULE = "*/2 * * * * *"                         # the shipped scenarios' push schedule
BATCH_KIND = "keyvalue"                                  # the kind scaled out k at once
SINGLE_EVERY_S = 2.0                                     # between recycles: each starts beside pushes
SETTLE_S = 4.0                                           # before the first: every engine has pushed
TOGETHER_S = 0.3                                         # starts this close were asked for at once


def fleet_summary() -> str:
    engines = ", ".join(f"{kind} {n}" for kind, n in FLEET.items())
    return (f"wkp-emu scenario run (live): {sum(FLEET.values())} engines ({engines}), {FLEET_RATE} writes/s "
            f"each, pushing every 2 s; recycled one at a time, {BATCH_KIND} scaled out k at once and back")


def start_scenario(singles: int, batches: list[int], batch_rounds: int) -> tuple[str, float]:
    """A scenario the live runner plays: the fleet working, `singles` recycles one at a time
    (round-robin), then for each k, `batch_rounds` times, the batch kind scaled out by k at once
    and back. Step times are the earliest each may start (a step waits for the one before)."""
    names = [f"{kind}-{i}" for kind, n in FLEET.items() for i in range(1, n + 1)]
    steps, at = [], SETTLE_S
    for i in range(singles):
        steps.append(f'[[step]]\nat = "{at:g}s"\naction = "recycle"\nengine = "{names[i % len(names)]}"\n')
        at += SINGLE_EVERY_S
    base = FLEET[BATCH_KIND]
    for k in batches:
        for _ in range(batch_rounds):
            steps.append(f'[[step]]\nat = "{at:g}s"\naction = "scale"\nkind = "{BATCH_KIND}"\n'
                         f"replicas = {base + k}\n")
            at += 1.0 + 0.8 * k      # the batch's start on a loaded machine
            steps.append(f'[[step]]\nat = "{at:g}s"\naction = "scale"\nkind = "{BATCH_KIND}"\n'
                         f"replicas = {base}\n")
            at += 1.5
    duration = at + 2.0
    head = ["[scenario]", 'name = "calibrate-engine-starts"',
            'description = "bench/calibrate.py: engine starts beside a working fleet"', "seed = 1",
            f'duration = "{duration:g}s"', "[discovery]", "enabled = false", "[defaults.env]",
            f'WEFTKIT_PERSIST_SCHEDULE = "{FLEET_SCHEDULE}"']
    for kind, n in FLEET.items():
        head += [f"[fleet.{kind}]", f"replicas = {n}", f"[workload.{kind}]", f"rate = {FLEET_RATE}"]
    return "\n".join(head) + "\n\n" + "\n".join(steps), duration


def starts_and_stops(events: list[dict], zero: float, end: float) -> tuple[dict[int, list[float]], list[float]]:
    """From a live run's events after time zero: each start (engine.starting to engine.started, as
    sim_vs_live --pod-times live reads them) grouped with the starts asked for at the same moment
    (a scale out starts its pods together; a recycle one), as {k: [the group's last start, ...]};
    and each recycled engine's stop (engine.stopping to a clean engine.stopped right before its
    slot starts again), its final push included."""
    starting, stopping, starts, stopped = {}, {}, [], {}
    stops = []
    for e in events:
        if e["at"] < zero or e["at"] > end:
            continue
        kind, name = e["kind"], e["subject"]
        if kind == "engine.starting":
            starting[name] = e["at"]
            done = stopped.pop(name, None)
            if done and e["at"] - done[0] <= TOGETHER_S:  # a recycle: the slot starts again right after
                stops.append(done[1])
        elif kind == "engine.started" and name in starting:
            t0 = starting.pop(name)
            starts.append((t0, e["at"] - t0))
        elif kind == "engine.stopping":
            stopping[name] = e["at"]
        elif kind == "engine.stopped" and name in stopping and e["data"].get("exit_code") == 0:
            stopped[name] = (e["at"], e["at"] - stopping.pop(name))
    groups: list[list[tuple[float, float]]] = []
    for s in sorted(starts):
        if groups and s[0] - groups[-1][0][0] <= TOGETHER_S:
            groups[-1].append(s)
        else:
            groups.append([s])
    by_k: dict[int, list[float]] = {}
    for g in groups:
        by_k.setdefault(len(g), []).append(max(took for _, took in g))
    return by_k, stops


def percentile(values: list[float], q: float) -> float:
    """The q-quantile, linear between order statistics (numpy's default), of a small sample."""
    xs = sorted(values)
    pos = (len(xs) - 1) * q
    lo = int(pos)
    return xs[lo] + (xs[min(lo + 1, len(xs) - 1)] - xs[lo]) * (pos - lo)


def fleet_starts(singles: int, batches: list[int], batch_rounds: int, log) -> dict:
    """Engine starts as a live recovery meets them: the scenario above played by the live runner
    (`wkp-emu scenario run`: a fresh `wkp-emu up`, its recorder and sampler), read from its evidence."""
    text, duration = start_scenario(singles, batches, batch_rounds)
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="wkp-calibrate-starts-") as tmp:
        path, out = Path(tmp) / "starts.toml", Path(tmp) / "report"
        path.write_text(text)
        proc = subprocess.run([sys.executable, "-m", "emulator.cli", "scenario", "run", str(path), "--out",
                               str(out), "--no-picture", "--quiet"], capture_output=True, text=True,
                              env=bench_env(), timeout=duration + 300)
        if not (out / "evidence.json").exists():
            raise RuntimeError(f"the live run of the start scenario wrote no evidence (exit "
                               f"{proc.returncode}): {proc.stderr[-800:]}")
        evidence = json.loads((out / "evidence.json").read_text())
    load_after = os.getloadavg()[0]
    by_k, stops = starts_and_stops(evidence.get("events", ()), evidence["start"], evidence["end"])
    wanted = {1: singles, **{k: batch_rounds for k in batches}}
    for k, n in wanted.items():
        if len(by_k.get(k, ())) != n:
            raise RuntimeError(f"expected {n} starts of {k} at once, the run shows "
                               f"{ {k: len(v) for k, v in sorted(by_k.items())} }")
    out = {"concurrent": [], "median_s": [], "p10_s": [], "p90_s": [], "samples": [],
           "stop_median_s": statistics.median(stops) if stops else None,
           "load_average": [round(load_before, 2), round(load_after, 2)]}
    for k in sorted(wanted):
        took = by_k[k]
        out["concurrent"].append(k)
        out["median_s"].append(statistics.median(took))
        out["p10_s"].append(percentile(took, 0.1))
        out["p90_s"].append(percentile(took, 0.9))
        out["samples"].append(len(took))
        log(f"  {k} at once: {out['median_s'][-1] * 1000:.0f} ms (p10 {out['p10_s'][-1] * 1000:.0f}, p90 "
            f"{out['p90_s'][-1] * 1000:.0f}; {len(took)} {'starts' if k == 1 else 'batches, the last of each'})")
    if stops:
        log(f"  recycled engine's stop, its final push included: {out['stop_median_s'] * 1000:.0f} ms "
            f"(median of {len(stops)})")
    log(f"  load average (1 min): {load_before:.2f} before, {load_after:.2f} after")
    return out


def render(measured_on: str, who: str, persist, restore, boot_empty, stop, boot_line, codecs, sizes,
           starts: dict | None = None) -> str:
    lines = ["# The simulator's calibration profile, measured on the live stack by bench/calibrate.py.",
             "# Regenerate: python bench/calibrate.py   (docs/sim.md, \"Calibration\")", "",
             "[calibration]", f'measured_on = "{measured_on}"', f"machine = {json.dumps(who)}",
             f"payload_sizes = {json.dumps(sizes)}", "",
             "[persist]   # POST /persist, request sent to answer read: base_s + per_mib_s x MiB",
             f"base_s = {persist[0]:.6f}", f"per_mib_s = {persist[1]:.6f}", "",
             "[restore]   # GET /restore, request sent to the last byte read",
             f"base_s = {restore[0]:.6f}", f"per_mib_s = {restore[1]:.6f}", "",
             "[engine_boot]   # engine process spawn to serving; restoring: + per MiB of compressed chain",
             f"empty_s = {boot_empty:.6f}", f"restore_base_s = {boot_line[0]:.6f}",
             f"restore_per_mib_s = {boot_line[1]:.6f}", "",
             "[engine_stop]   # SIGTERM to exit with nothing to flush (a flush adds its push)",
             f"sigterm_to_exit_s = {stop:.6f}", ""]
    if starts:
        def floats(xs):
            return "[" + ", ".join(f"{x:.4f}" for x in xs) + "]"
        lines += ["[engine_start]   # engine.starting to engine.started beside a working fleet, by engines started "
                  "at once (k > 1: the last of the batch)",
                  f"fleet = {json.dumps(fleet_summary())}",
                  f"load_average = {json.dumps(starts['load_average'])}   # 1-minute, before and after",
                  f"concurrent = {json.dumps(starts['concurrent'])}", f"median_s = {floats(starts['median_s'])}",
                  f"p10_s = {floats(starts['p10_s'])}", f"p90_s = {floats(starts['p90_s'])}",
                  f"samples = {json.dumps(starts['samples'])}"]
        if starts["stop_median_s"] is not None:
            lines.append(f"stop_median_s = {starts['stop_median_s']:.4f}   # engine.stopping to engine.stopped "
                         "of a recycled engine, its final push included")
        lines.append("")
    for kind, (cpu, ratio) in codecs.items():
        lines += [f"[kinds.{kind}]   # zstd level 6 over the kind's typical records",
                  f"compress_cpu_s_per_mib = {cpu:.6f}", f"ratio = {ratio:.4f}", ""]
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--sizes", default="4K,256K,2M,16M", help="payload sizes of the latency lines")
    ap.add_argument("--boot-sizes", default="1M,8M", help="raw sizes of the chains engines restore on boot")
    ap.add_argument("--codec-bytes", default="4M", help="raw records per kind for the codec figures")
    ap.add_argument("--start-singles", type=int, default=16, metavar="N",
                    help="engines recycled one at a time beside a working fleet (0: no [engine_start])")
    ap.add_argument("--start-batches", default="2,4,6", metavar="K,...",
                    help="engines started at once (the fleet's keyvalue scaled out by K and back)")
    ap.add_argument("--batch-rounds", type=int, default=3, metavar="N", help="batches of each size")
    ap.add_argument("--out", type=Path, default=DEFAULT_FILE)
    args = ap.parse_args()
    try:
        sizes = [parse_size(s) for s in args.sizes.split(",")]
        boot_sizes = [parse_size(s) for s in args.boot_sizes.split(",")]
        codec_bytes = parse_size(args.codec_bytes)
    except (ValueError, IndexError) as exc:
        print(f"calibrate: a size is not like 256K, 2M or 1G: {exc}", file=sys.stderr)
        return 2
    try:
        batches = [int(k) for k in args.start_batches.split(",") if k.strip()]
    except ValueError:
        batches = [0]
    if any(k < 2 for k in batches) or args.start_singles < 0 or args.batch_rounds < 1:
        print("calibrate: --start-batches takes counts of 2 or more (like 2,4,6), --start-singles 0 or more, "
              "--batch-rounds 1 or more", file=sys.stderr)
        return 2
    if len(sizes) < 2 or args.rounds < 1:
        print("calibrate: --sizes needs two sizes or more (a line is fitted), --rounds at least 1",
              file=sys.stderr)
        return 2
    log = lambda m: print(m, flush=True)  # noqa: E731
    who = machine()
    log(f"machine: {who}")
    stack = Stack("default")
    try:
        fn = Function(stack.endpoint)
        log("function latency by payload size (wkp-emu function, embedded store):")
        persist, restore = persist_and_restore(fn, sizes, args.rounds, log)
        log("engine boot to ready (python -m emulator.cli engine, relational, as up starts it):")
        boot_empty, stop, boot_points = engine_boots(fn, stack.endpoint, boot_sizes, args.rounds, log)
    finally:
        stack.stop()
    starts = None
    if args.start_singles:
        log(f"engine start beside a working fleet ({fleet_summary()}):")
        starts = fleet_starts(args.start_singles, sorted(set(batches)), args.batch_rounds, log)
    log("engine push CPU and compression per kind (zstd level 6):")
    codecs = kind_codecs(codec_bytes)
    for kind, (cpu, ratio) in codecs.items():
        log(f"  {kind:<10} {cpu * 1000:7.1f} ms CPU per MiB raw, ratio {ratio:5.2f}")
    p_line, r_line = fit(persist), fit(restore)
    b_line = fit(boot_points) if len(boot_points) > 1 else (boot_points[0][1], 0.0)
    base_p, base_r = persist[0][1], restore[0][1]
    log(f"persist: {p_line[0] * 1000:.1f} ms + {p_line[1] * 1000:.1f} ms/MiB; at {sizes[-1] / MiB:g} MiB "
        f"{persist[-1][1] / base_p:.1f}x the {sizes[0] / 1024:g} KiB baseline ({base_p * 1000:.1f} ms)")
    log(f"restore: {r_line[0] * 1000:.1f} ms + {r_line[1] * 1000:.1f} ms/MiB; at {sizes[-1] / MiB:g} MiB "
        f"{restore[-1][1] / base_r:.1f}x the {sizes[0] / 1024:g} KiB baseline ({base_r * 1000:.1f} ms), "
        f"{(sizes[-1] / MiB) / restore[-1][1]:.0f} MiB/s")
    log(f"engine boot: {boot_empty * 1000:.0f} ms empty; restoring {b_line[0] * 1000:.0f} ms + "
        f"{b_line[1] * 1000:.0f} ms/MiB ({boot_points[-1][1] / boot_empty:.2f}x the empty boot at "
        f"{boot_points[-1][0] / MiB:.2f} MiB)")
    text = render(time.strftime("%Y-%m-%d", time.gmtime()), who, p_line, r_line, boot_empty, stop, b_line,
                  codecs, [*sizes], starts)
    parse_calibration(text, str(args.out))  # what is written must load
    args.out.write_text(text)
    log(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
