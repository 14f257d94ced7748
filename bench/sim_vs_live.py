"""Does the simulator tell the truth? The shipped scenarios run live and simulated, compared.

For each scenario: `wkp-emu scenario run NAME` on a real stack (the live
report), then the same file simulated (`sim.runner.simulate` with the shipped
calibration, judged by the same report code), and per measure the agreement:

- counts: acknowledged pushes (the function's 200/202 answers), restores
  (restore 200), bytes pushed (the engines' acknowledged pushes): goal within 5 %;
- windows: the worst data-at-risk window and the longest time to recover:
  goal within 10 %;
- the verdict of each run;

and, apart, the simulated SWIM's first-detection and failure times against
SWIM's analytic values (sim/swim_theory.py), over seeded crashes in clusters
of 8 and 32 members: goal within 15 %.

Like is compared with like: a cron schedule ticks at instants of the wall
clock, and a live run's time zero falls wherever the clock is when its stack
is ready, so each simulated run is given the live run's wall-clock time zero
(`clock_at_zero`, from its evidence) and its engines tick at the same moments
of the timeline as the live ones (`--phase drawn` leaves the clock to each
seed instead). `--calibration FILE` simulates with a profile measured beside
the live runs (bench/calibrate.py --out FILE), so the model's start and
service times are the machine's as the live runs met it.

The live run is the baseline of every ratio (sim / live). A measure that is
zero on both sides agrees; zero on one side only is reported as "n/a" with
both values. Live reports can be kept (`--keep DIR`) and reused
(`--live-from DIR`), so the model can be compared again without the minutes
the live runs take. Each live run's report is kept with the machine's 1-minute
load average before and after it (load_average.json): on a shared machine the
load of the moment decides how long an engine takes to start.

    python bench/sim_vs_live.py [--scenarios a,b,...] [--keep DIR | --live-from DIR] [--json FILE]
                                [--calibration FILE] [--phase live|drawn] [--sim-replications N]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from emulator.scenario.library import shipped  # noqa: E402

COUNT_GOAL, WINDOW_GOAL = 0.05, 0.10
MEASURES = (("pushes", "count"), ("restores", "count"), ("bytes_pushed", "count"),
            ("worst_at_risk_s", "window"), ("recovery_s", "window"))


def measures(report: dict) -> dict:
    counts = report["function"]["counts"]
    recoveries = [r["seconds"] for r in report.get("recoveries", ()) if r.get("seconds") is not None]
    return {"pushes": counts["pushes"], "restores": counts["restores"],
            "bytes_pushed": sum(e.get("bytes_pushed", 0) for e in report["engines"].values()),
            "worst_at_risk_s": report["data_at_risk"].get("max_s"),
            "recovery_s": max(recoveries) if recoveries else None,
            "passed": report["passed"]}


def agreement(live, sim) -> float | None:
    """sim / live - 1; 0 when both are zero or absent; None when only one side has a value."""
    if not live and not sim:
        return 0.0
    if not live or sim is None:
        return None
    return sim / live - 1


def live_pod_times(evidence: dict, restore_base_s: float) -> dict:
    """The live run's own engine start and stop times after its time zero, as the model's parameters:
    the median from `engine.starting` to `engine.started` less one restore round trip (the model adds its own, as
    the calibration's boot line does), and from `engine.stopping` to a clean `engine.stopped`.
    On a shared machine these vary by the load of the moment and by how many pods start at once
    (0.5 to 4.5 s in one run), which no fixed calibration follows."""
    starting, stopping, starts, stops = {}, {}, [], []
    zero = evidence.get("start", 0.0)
    for e in evidence.get("events", ()):
        if e["at"] < zero:  # the initial fleet starts all at once, slower than a recovery's one pod
            continue
        kind, name = e["kind"], e["subject"]
        if kind == "engine.starting":
            starting[name] = e["at"]
        elif kind == "engine.started" and name in starting:
            starts.append(e["at"] - starting.pop(name))
        elif kind == "engine.stopping":
            stopping[name] = e["at"]
        elif kind == "engine.stopped" and name in stopping and e["data"].get("exit_code") == 0:
            stops.append(e["at"] - stopping.pop(name))
    out = {}
    if starts:
        out["engine_start_s"] = round(max(0.0, statistics.median(starts) - restore_base_s), 4)
    if stops:
        out["engine_stop_s"] = round(statistics.median(stops), 4)
    return out


def live_report(name: str, keep: Path | None, live_from: Path | None) -> tuple[dict, dict]:
    """The live run's report and evidence (its start is its wall-clock time zero: the clock its
    engines' schedules read then), run now or read from a kept run."""
    if live_from:
        out = live_from / name
    else:
        out = (keep / name) if keep else Path(tempfile.mkdtemp(prefix=f"wkp-live-{name}-"))
        before = os.getloadavg()[0]
        proc = subprocess.run([sys.executable, "-m", "emulator.cli", "scenario", "run", name, "--out", str(out),
                               "--no-picture", "--quiet"], capture_output=True, text=True, timeout=600,
                              cwd=Path(__file__).resolve().parents[1])
        if not (out / "report.json").exists():
            raise RuntimeError(f"live run of {name} wrote no report (exit {proc.returncode}): "
                               f"{proc.stderr[-800:]}")
        # the machine's 1-minute load average around the run: on a shared machine it moves start times
        (out / "load_average.json").write_text(json.dumps([round(before, 2), round(os.getloadavg()[0], 2)]))
    report = json.loads((out / "report.json").read_text())
    load = out / "load_average.json"
    report["load_average"] = json.loads(load.read_text()) if load.exists() else None
    evidence = out / "evidence.json"
    return report, (json.loads(evidence.read_text()) if evidence.exists() else {})


SIM_CHILD = r"""
import json, sys
from emulator.scenario.library import resolve
from emulator.scenario.loader import load_scenario
from emulator.scenario.report import build_report
from sim.calibration import load_calibration
from sim.runner import simulate
scenario = load_scenario(resolve(sys.argv[1]))
clock = None if sys.argv[3] == "-" else float(sys.argv[3])
calibration = load_calibration(sys.argv[4] if sys.argv[4] != "-" else None).model_parameters()
calibration.update(json.loads(sys.argv[5]))  # the live run's own pod times (--pod-times live)
reports = []
for r in range(int(sys.argv[2])):
    run = simulate(scenario, seed=scenario.seed + r, calibration=calibration, clock_at_zero=clock)
    reports.append(build_report(scenario, run.evidence, runner="sim", wall_s=run.wall_s))
print(json.dumps(reports, default=str))
"""


def sim_reports(name: str, timeout_s: float, replications: int = 1, clock_at_zero: float | None = None,
                calibration: Path | None = None, overrides: dict | None = None) -> list[dict]:
    """The simulated reports (seeds SEED..SEED+N-1), their engines' clock at time zero set to the live
    run's (None: drawn from each seed), the calibration's parameters with `overrides`, in a child
    process bounded in time (a model that does not finish is a finding)."""
    argv = [name, str(replications), "-" if clock_at_zero is None else repr(clock_at_zero),
            "-" if calibration is None else str(calibration), json.dumps(overrides or {})]
    try:
        proc = subprocess.run([sys.executable, "-c", SIM_CHILD, *argv], capture_output=True,
                              text=True, timeout=timeout_s, cwd=Path(__file__).resolve().parents[1])
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"the simulated run of {name} did not finish within {timeout_s:g}s") from None
    if proc.returncode != 0:
        raise RuntimeError(f"the simulated run of {name} failed: {proc.stderr.strip()[-600:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def mean_measures(reports: list[dict]) -> dict:
    """Each measure's mean over the simulated replications (None where none measured it); passed if all did."""
    each = [measures(r) for r in reports]
    out = {}
    for key, _ in MEASURES:
        values = [m[key] for m in each if m[key] is not None]
        out[key] = sum(values) / len(values) if values else None
    out["passed"] = all(m["passed"] for m in each)
    return out


def compare(name: str, live: dict, sims: list[dict] | dict) -> dict:
    sims = sims if isinstance(sims, list) else [sims]
    lm, sm = measures(live), mean_measures(sims)
    rows = {}
    for key, what in MEASURES:
        a = agreement(lm[key], sm[key])
        goal = COUNT_GOAL if what == "count" else WINDOW_GOAL
        rows[key] = {"live": lm[key], "sim": sm[key], "diff": None if a is None else round(a, 4),
                     "goal": goal, "ok": a is not None and abs(a) <= goal}
    return {"scenario": name, "measures": rows, "live_passed": lm["passed"], "sim_passed": sm["passed"],
            "live_load_average": live.get("load_average"),
            "sim_replications": len(sims), "sim_wall_s": round(sum(s["wall_s"] for s in sims), 3),
            "live_wall_s": live["wall_s"]}


def _v(x) -> str:
    if x is None:
        return "-"
    if isinstance(x, float):
        return str(int(x)) if x == int(x) and abs(x) >= 10 else f"{x:.3f}"
    return str(x)


def table(results: list[dict]) -> str:
    lines = [f"{'scenario':<22} {'measure':<16} {'live':>10} {'sim':>10} {'sim/live-1':>11}  within goal"]
    for r in results:
        for key, m in r["measures"].items():
            diff = "n/a" if m["diff"] is None else f"{m['diff'] * 100:+.1f}%"
            lines.append(f"{r['scenario']:<22} {key:<16} {_v(m['live']):>10} {_v(m['sim']):>10} {diff:>11}  "
                         f"{'yes' if m['ok'] else 'NO'} (±{m['goal'] * 100:g}%)")
        lines.append(f"{r['scenario']:<22} {'verdict':<16} {_pf(r['live_passed']):>10} {_pf(r['sim_passed']):>10}"
                     f" {'':>11}  {'yes' if r['live_passed'] == r['sim_passed'] else 'NO'}")
    ok = sum(m["ok"] for r in results for m in r["measures"].values())
    total = sum(len(r["measures"]) for r in results)
    lines.append(f"agreement: {ok}/{total} measures within their goal (counts ±5 %, windows ±10 %) over "
                 f"{len(results)} scenarios; verdicts agree in "
                 f"{sum(r['live_passed'] == r['sim_passed'] for r in results)}/{len(results)}")
    return "\n".join(lines)


def _pf(passed: bool) -> str:
    return "PASSED" if passed else "FAILED"


def swim_line(trials: int, sizes=(8, 32)) -> str:
    """The simulated SWIM against SWIM's analytic detection times (sim/swim_theory.py): goal within 15 %."""
    from sim.discovery import detection_experiment
    parts = []
    for n in sizes:
        x = detection_experiment(n, trials, seed=n)
        ok = x.first_error <= 0.15 and x.failure_error <= 0.15
        parts.append(f"n={n}: first detection {x.first_detection_s:.3f}s vs analytic {x.expected_first_s:.3f}s "
                     f"({(x.first_detection_s / x.expected_first_s - 1) * 100:+.1f}%), failed "
                     f"{x.failure_s:.3f}s vs {x.expected_failure_s:.3f}s "
                     f"({(x.failure_s / x.expected_failure_s - 1) * 100:+.1f}%) {'yes' if ok else 'NO'}")
    return f"SWIM over {trials} crashes (goal within 15 %): " + "; ".join(parts)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scenarios", help="comma-separated names (default: every shipped scenario a live stack runs)")
    src = ap.add_mutually_exclusive_group()
    src.add_argument("--keep", type=Path, metavar="DIR", help="keep each live report in DIR/NAME/")
    src.add_argument("--live-from", type=Path, metavar="DIR", help="reuse live reports kept with --keep")
    ap.add_argument("--json", type=Path, metavar="FILE", help="write the comparison as JSON")
    ap.add_argument("--sim-timeout", type=float, default=300, help="seconds a simulated run may take")
    ap.add_argument("--sim-replications", type=int, default=1, metavar="N",
                    help="simulate each scenario with seeds SEED..SEED+N-1 and compare the means (a live "
                    "run is one draw; the model's mean is its best estimate)")
    ap.add_argument("--calibration", type=Path, metavar="FILE",
                    help="simulate with this calibration profile (default: the shipped one); measure one "
                    "beside the live runs with bench/calibrate.py --out FILE so both see the same machine")
    ap.add_argument("--phase", choices=("live", "drawn"), default="live",
                    help="the engines' clock at time zero: the live run's (default), or drawn from each "
                    "simulated seed (to see what the schedule's phase alone moves)")
    ap.add_argument("--pod-times", choices=("calibration", "live"), default="calibration",
                    help="engine start and stop times from the calibration (default), or each live run's own "
                    "(medians from its events): separates the model's logic from the machine's speed then")
    ap.add_argument("--swim-trials", type=int, default=150,
                    help="crashes of the simulated SWIM compared with its analytic times (0: skip)")
    args = ap.parse_args()
    from emulator.scenario.loader import load_scenario
    from sim.calibration import load_calibration
    restore_base = load_calibration(args.calibration).restore.base_s
    names = args.scenarios.split(",") if args.scenarios else \
        [p.stem for p in shipped() if not load_scenario(p).sim_only]
    results, problems = [], []
    for name in names:
        try:
            live, evidence = live_report(name, args.keep, args.live_from)
            clock = evidence.get("start") if args.phase == "live" else None
            overrides = live_pod_times(evidence, restore_base) if args.pod_times == "live" else {}
            if "engine_start_s" in overrides:  # the run's one start time, not the calibration's by concurrency
                overrides["engine_start_by_concurrency"] = None
            sims = sim_reports(name, args.sim_timeout, args.sim_replications, clock, args.calibration,
                               overrides)
        except (RuntimeError, OSError, ValueError) as exc:
            problems.append(f"{name}: {exc}")
            print(f"{name}: not compared: {exc}", flush=True)
            continue
        results.append(compare(name, live, sims))
        results[-1]["clock_at_zero"] = clock
        results[-1]["pod_times"] = overrides
        load = live.get("load_average")
        print(f"{name}: live {live['wall_s']}s wall"
              f"{f' (load average {load[0]} before, {load[1]} after)' if load else ''}, sim "
              f"{results[-1]['sim_wall_s']}s wall ({len(sims)} replication(s))", flush=True)
    print(table(results))
    if args.swim_trials:
        print(swim_line(args.swim_trials))
    for p in problems:
        print(f"not compared: {p}")
    if args.json:
        args.json.write_text(json.dumps({"results": results, "not_compared": problems}, indent=2,
                                        sort_keys=True) + "\n")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
