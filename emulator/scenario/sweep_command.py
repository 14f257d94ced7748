"""`wkp-emu scenario sweep FILE --param KEY=V1,V2 ... --replications N [--workers K | --scheduler ADDRESS]`.

Every combination of the parameters' values, N replications each, simulated
(docs/sim.md, "Sweeps"); each metric reported as a mean with a Student-t
confidence interval, and the what-if comparison: cost per month against the
worst data-at-risk window, per combination (summary, sweep.json, whatif.png).

Exit status: 0 every run finished (whatever its verdict: a sweep explores),
1 some run stopped with an error, 2 a bad file or option (before anything
runs), 3 the Dask scheduler could not be reached or has no workers, 130
interrupted (Ctrl-C).
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

EXIT_RUN_ERROR, EXIT_BAD, EXIT_NO_CLUSTER = 1, 2, 3
MAX_RUNS = 10_000


def add_parser(scenario_subparsers) -> None:
    p = scenario_subparsers.add_parser(
        "sweep", help="simulate every combination of parameter values, with confidence intervals",
        description="Run the scenario simulated for every combination of --param values, --replications "
        "times each, on local processes or a Dask cluster; report each metric with a confidence interval "
        "and cost against data at risk (docs/sim.md, Sweeps).")
    p.add_argument("file", metavar="FILE|NAME", help="a scenario file, or a shipped scenario's name")
    p.add_argument("--param", action="append", default=[], metavar="KEY=V1,V2",
                   help="a dotted key into the scenario's TOML and its values (repeat for more keys), "
                   "e.g. defaults.env.WEFTKIT_PERSIST_SCHEDULE='*/5 * * * *,*/15 * * * *'")
    p.add_argument("--replications", type=int, default=5, metavar="N",
                   help="runs per combination, seeds SEED..SEED+N-1 (default 5)")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, metavar="K", help="local processes (default: usable CPUs)")
    where.add_argument("--scheduler", metavar="ADDRESS",
                       help="a Dask distributed scheduler (tcp://HOST:PORT) whose workers run the sweep")
    p.add_argument("--connect-timeout", type=float, default=20.0, metavar="SECONDS",
                   help="with --scheduler: how long to try reaching the scheduler (default 20)")
    p.add_argument("--confidence", type=float, default=0.95, help="of the intervals (default 0.95)")
    p.add_argument("--prices", metavar="FILE|NAME", help="price table (default aws-us-east-1; shipped: "
                   "sim/prices/)")
    p.add_argument("--calibration", metavar="FILE", help="calibration profile (default: the shipped one)")
    p.add_argument("--out", metavar="DIR", help="report directory (default scenario-reports/NAME-sweep-TIME)")
    p.add_argument("--no-picture", action="store_true", help="skip whatif.png")
    p.add_argument("--quiet", action="store_true", help="no line per finished run")
    p.set_defaults(func=run_sweep)


def _bad(message) -> int:
    print(f"wkp-emu scenario sweep: {message}", file=sys.stderr)
    return EXIT_BAD


def plan(args):
    """(scenario, combinations, tasks) or a SweepError/ScenarioError naming what is wrong."""
    from .library import resolve
    from .loader import ScenarioError, parse_scenario
    from .sweep import SweepError, combinations, parse_param, replication_seed
    from .sweep_run import PointTask, build_scenario
    if args.replications < 1:
        raise SweepError(f"--replications must be 1 or more, got {args.replications}")
    if args.workers is not None and args.workers < 1:
        raise SweepError(f"--workers must be 1 or more, got {args.workers}")
    if not 0 < args.confidence < 1:
        raise SweepError(f"--confidence must be between 0 and 1 (e.g. 0.95), got {args.confidence}")
    path = resolve(args.file)
    try:
        text = path.read_text()
    except OSError as exc:
        raise ScenarioError(str(path), None, "", f"cannot read: {exc.strerror}") from None
    scenario = parse_scenario(text, str(path))
    params = [parse_param(p) for p in args.param]
    combos = combinations(params)
    if len(combos) * args.replications > MAX_RUNS:
        raise SweepError(f"{len(combos)} combinations x {args.replications} replications is more than "
                         f"{MAX_RUNS} runs; sweep fewer values")
    for combo in combos:           # every combination checked before anything runs
        build_scenario(text, str(path), combo)
    from sim.cost_report import CostInputError, cost_inputs
    try:
        cost_inputs(args.prices, args.calibration)
    except CostInputError as exc:
        raise SweepError(str(exc)) from None
    tasks = [PointTask(i * args.replications + r, i, r, combo,
                       replication_seed(dict(combo).get("scenario.seed", scenario.seed), r), text,
                       str(path), args.prices, args.calibration)
             for i, combo in enumerate(combos) for r in range(args.replications)]
    return scenario, combos, tasks


def run_sweep(args) -> int:
    from .loader import ScenarioError
    from .sweep import SweepError
    from .sweep_run import SchedulerUnreachable, run_dask, run_local, usable_cpus
    try:
        scenario, combos, tasks = plan(args)
    except (SweepError, ScenarioError) as exc:
        return _bad(exc)
    workers = args.workers or usable_cpus()
    where = f"the Dask cluster at {args.scheduler}" if args.scheduler else \
        f"{min(workers, len(tasks))} local process(es)"
    done = [0]

    def progress(result: dict) -> None:
        done[0] += 1
        if not args.quiet:
            from .sweep import label
            status = result.get("error") or ("passed" if result.get("passed") else "FAILED")
            print(f"  [{done[0]}/{len(tasks)}] {label(result['overrides'])} seed {result['seed']}: {status} "
                  f"({result['wall_s']}s)", flush=True)

    began = time.perf_counter()
    cluster = None
    try:
        print(f"sweep {scenario.name}: {len(combos)} combination(s) x {args.replications} replication(s) = "
              f"{len(tasks)} simulated runs on {where}", flush=True)
        if args.scheduler:
            results, cluster = run_dask(tasks, args.scheduler, progress, timeout_s=args.connect_timeout)
        else:
            results = run_local(tasks, min(workers, len(tasks)), progress)
    except SchedulerUnreachable as exc:
        print(f"wkp-emu scenario sweep: {exc}", file=sys.stderr)
        return EXIT_NO_CLUSTER
    except KeyboardInterrupt:
        print(f"wkp-emu scenario sweep: interrupted after {done[0]} of {len(tasks)} runs; nothing written",
              file=sys.stderr)
        return 130
    wall = round(time.perf_counter() - began, 3)
    sweep = build_sweep_report(scenario, combos, results, args, wall, cluster)
    out = Path(args.out or f"scenario-reports/{scenario.name}-sweep-{time.strftime('%Y%m%d-%H%M%S')}")
    files = write_sweep(sweep, out, picture=not args.no_picture)
    print(sweep_summary(sweep), end="")
    print(f"\nreport: {files['report']}" + (f"\npicture: {files['picture']}" if "picture" in files else ""))
    return EXIT_RUN_ERROR if sweep["errors"] else 0


def build_sweep_report(scenario, combos, results, args, wall_s, cluster=None) -> dict:
    from .sweep import METRICS, label, summarize
    rows = []
    for i, combo in enumerate(combos):
        runs = [r for r in results if r["combination"] == i]
        ok = [r["metrics"] for r in runs if "metrics" in r]
        stats = summarize(ok, args.confidence)
        rows.append({"combination": i, "overrides": {k: v for k, v in combo}, "label": label(combo),
                     "runs": len(runs), "passed": sum(1 for r in runs if r.get("passed")),
                     "errors": [r["error"] for r in runs if "error" in r],
                     "metrics": {m: stats[m].to_json() for m in METRICS},
                     "replications": [{"seed": r["seed"], "passed": r.get("passed"), "wall_s": r["wall_s"],
                                       "failed": r.get("failed", []), "error": r.get("error"),
                                       "metrics": r.get("metrics")} for r in runs]})
    return {"scenario": {"name": scenario.name, "source": scenario.source, "seed": scenario.seed,
                         "duration_s": scenario.duration_s},
            "params": [p for p in args.param], "replications": args.replications,
            "confidence": args.confidence, "runner": f"dask {args.scheduler}" if args.scheduler else "local",
            "cluster": cluster, "wall_s": wall_s, "prices": args.prices, "calibration": args.calibration,
            "currency": next((r["currency"] for r in results if "currency" in r), None),
            "errors": sum(len(r["errors"]) for r in rows), "combinations": rows}


ROWS = (("passed", "passed"), ("pushes", "pushes"), ("push_attempts", "push attempts"),
        ("restores", "restores"), ("bytes_pushed", "bytes pushed"), ("writes_lost", "writes lost"),
        ("risk_p99_s", "data at risk p99"), ("risk_max_s", "worst data at risk"),
        ("recovery_max_s", "worst recovery"), ("status_409", "409s"), ("status_429", "429s"),
        ("status_5xx", "5xx"), ("cost_month", "cost per month"))


def sweep_summary(sweep: dict) -> str:
    from .sweep import UNITS, Interval
    pct = f"{sweep['confidence'] * 100:g}%"
    lines = [f"sweep {sweep['scenario']['name']}: {len(sweep['combinations'])} combination(s) x "
             f"{sweep['replications']} replication(s), {sweep['wall_s']}s wall ({sweep['runner']}); "
             f"mean ± half-width of the {pct} t-interval"]
    for row in sweep["combinations"]:
        errors = f", {len(row['errors'])} error(s)" if row["errors"] else ""
        lines += ["", f"{row['label']}: {row['passed']}/{row['runs']} passed{errors}"]
        for err in sorted(set(row["errors"])):
            lines.append(f"  error: {err}")
        for metric, title in ROWS[1:]:
            m = row["metrics"][metric]
            interval = Interval(m["mean"], m["half_width"], m["n"], m["confidence"])
            lines.append(f"  {title:<20} {interval.text(UNITS.get(metric, ''))}")
    lines += ["", "what-if: cost per month against the worst data-at-risk window",
              f"  {'combination':<40} {'cost/month':>18} {'worst at risk':>18} {'passed':>7}"]
    for row in sweep["combinations"]:
        cost, risk = row["metrics"]["cost_month"], row["metrics"]["risk_max_s"]
        lines.append(f"  {row['label'][:40]:<40} {_short(cost, ''):>18} {_short(risk, 's'):>18} "
                     f"{row['passed']:>3}/{row['runs']:<3}")
    return "\n".join(lines) + "\n"


def _short(m: dict, unit: str) -> str:
    if m["mean"] is None:
        return "-"
    half = f" ±{m['half_width']:.3g}" if m["half_width"] is not None else ""
    return f"{m['mean']:.4g}{unit}{half}"


def write_sweep(sweep: dict, out: Path, *, picture: bool = True) -> dict[str, Path]:
    out.mkdir(parents=True, exist_ok=True)
    files = {"report": out / "sweep.json", "summary": out / "summary.txt"}
    files["report"].write_text(json.dumps(sweep, indent=2, sort_keys=True, default=str) + "\n")
    files["summary"].write_text(sweep_summary(sweep))
    if picture:
        from .sweep_picture import draw_whatif
        files["picture"] = draw_whatif(sweep, out / "whatif.png")
    return files
