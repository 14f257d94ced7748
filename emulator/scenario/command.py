"""`wkp-emu scenario run|check|list|judge`."""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

EXIT_FAILED, EXIT_BAD_FILE, EXIT_NO_STACK = 1, 2, 3


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("scenario", help="run scripted scale/recycle/fault timelines and judge them",
                              description="Scenario files (TOML) say what happens and what must hold; "
                              "see docs/scenarios.md.")
    sub = p.add_subparsers(dest="scenario_command", metavar="ACTION", required=True)
    run = sub.add_parser("run", help="run a scenario on a fresh stack (or --attach) and judge it")
    run.add_argument("file", metavar="FILE|NAME", help="a scenario file, or a shipped scenario's name")
    run.add_argument("--sim", action="store_true",
                     help="run it simulated (virtual time, no processes; docs/sim.md)")
    run.add_argument("--seed", type=int, metavar="N",
                     help="with --sim: the simulation's seed (default: the scenario's seed)")
    run.add_argument("--prices", metavar="FILE|NAME", help="with --sim: the price table of the cost "
                     "section (default aws-us-east-1; shipped: sim/prices/; docs/sim.md, Cost)")
    run.add_argument("--calibration", metavar="FILE", help="with --sim: the calibration profile "
                     "(default: the shipped one, sim/calibration/default.toml)")
    run.add_argument("--attach", action="store_true",
                     help="run on the emulator already running (its fleet is left as it ends)")
    run.add_argument("--state-dir", metavar="DIR", help="with --attach: that emulator's state dir")
    run.add_argument("--out", metavar="DIR", help="report directory (default scenario-reports/NAME-TIME)")
    run.add_argument("--no-picture", action="store_true", help="skip timeline.png")
    run.add_argument("--quiet", action="store_true", help="print only the summary")
    run.set_defaults(func=run_scenario)
    check = sub.add_parser("check", help="validate scenario files without running them")
    check.add_argument("files", nargs="+", metavar="FILE|NAME")
    check.set_defaults(func=check_scenarios)
    ls = sub.add_parser("list", help="the shipped scenarios (and ./scenarios) with their descriptions")
    ls.set_defaults(func=list_scenarios)
    judge = sub.add_parser("judge", help="judge a recorded run again (its evidence.json) against FILE")
    judge.add_argument("file", metavar="FILE|NAME")
    judge.add_argument("evidence", help="evidence.json of an earlier run")
    judge.set_defaults(func=judge_again)
    from .sweep_command import add_parser as add_sweep  # `scenario sweep` (sweep_command.py)
    add_sweep(sub)


def _load(name: str):
    from .library import resolve
    from .loader import load_scenario
    return load_scenario(resolve(name))


def _bad(exc) -> int:
    print(f"wkp-emu scenario: {exc}", file=sys.stderr)
    return EXIT_BAD_FILE


def check_scenarios(args) -> int:
    from .loader import ScenarioError
    status = 0
    for name in args.files:
        try:
            s = _load(name)
            print(f"ok  {s.source}: {s.name} ({len(s.steps)} steps, {len(s.expectations)} expectations)")
        except ScenarioError as exc:
            status = _bad(exc)
    return status


def list_scenarios(args) -> int:
    from .library import scenario_dirs
    from .loader import ScenarioError, load_scenario
    for d in scenario_dirs():
        print(f"{d}:")
        for path in sorted(d.glob("*.toml")):
            try:
                s = load_scenario(path)
                print(f"  {path.stem:<24} {headline(s.description)}")
            except ScenarioError as exc:
                print(f"  {path.stem:<24} (invalid: {exc})")
    return 0


def headline(description: str, width: int = 76) -> str:
    """The description's first sentence, on one line of at most `width` characters."""
    text = " ".join(description.split())
    first = text.split(". ", 1)[0].rstrip(".") + "."
    return first if len(first) <= width else first[: width - 1].rstrip() + "…"


def run_scenario(args) -> int:
    from .live import RunnerError, run_live
    from .loader import ScenarioError, require_live
    from .report import build_report, summary, write_report
    try:
        scenario = _load(args.file)
        if not args.sim:
            require_live(scenario)
    except ScenarioError as exc:
        return _bad(exc)
    if args.sim:
        return run_simulated(scenario, args)
    if args.seed is not None or args.prices or args.calibration:
        return _bad("--seed, --prices and --calibration go with --sim (a live run has no model to cost or "
                    "calibrate)")
    if args.state_dir and not args.attach:
        return _bad("--state-dir goes with --attach (a fresh stack gets a temporary state dir)")
    out = Path(args.out or f"scenario-reports/{scenario.name}-{time.strftime('%Y%m%d-%H%M%S')}")
    log = (lambda m: None) if args.quiet else (lambda m: print(m, flush=True))
    try:
        run = run_live(scenario, attach=args.attach, state_dir=args.state_dir, keep_state=out, log=log)
    except RunnerError as exc:
        print(f"wkp-emu scenario: {exc}", file=sys.stderr)
        return EXIT_NO_STACK
    report = build_report(scenario, run.evidence, runner="live" + (" (attached)" if run.attached else ""),
                          wall_s=run.wall_s)
    files = write_report(report, run.evidence, out, picture=not args.no_picture)
    print(summary(report), end="")
    print(f"\nreport: {files['report']}" + (f"\npicture: {files['picture']}" if "picture" in files else ""))
    return 0 if report["passed"] else EXIT_FAILED


def run_simulated(scenario, args) -> int:
    """The same report files as a live run, from the simulator (sim/runner.py).

    report.json, summary.txt and evidence.json hold no wall-clock time, so the
    same file and seed give byte-identical files; the wall time is printed only.
    """
    from sim.runner import simulate

    from .report import build_report, summary, write_report
    if args.attach or args.state_dir:
        return _bad("--sim runs on the simulated stack; it does not take --attach or --state-dir")
    seed = scenario.seed if args.seed is None else args.seed
    out = Path(args.out or f"scenario-reports/{scenario.name}-sim-seed{seed}")
    from sim.cost_report import CostInputError, add_cost, cost_inputs  # the cost section (docs/sim.md, Cost)
    try:
        prices, calibration = cost_inputs(args.prices, args.calibration)
    except CostInputError as exc:
        return _bad(exc)
    run = simulate(scenario, seed=seed, calibration=calibration)
    report = build_report(scenario, run.evidence, runner=f"simulated, seed {seed}", wall_s=None)
    add_cost(report, run.counts, prices)
    files = write_report(report, run.evidence, out, picture=not args.no_picture)
    if not args.no_picture:
        from sim.cost_picture import draw_cost
        files["cost picture"] = draw_cost(report["cost"], out / "cost.png")
    print(summary(report), end="")
    if not args.quiet:
        print(f"\nsimulated in {run.wall_s:.2f}s wall")
    print(f"report: {files['report']}" + (f"\npicture: {files['picture']}" if "picture" in files else "")
          + (f"\ncost picture: {files['cost picture']}" if "cost picture" in files else ""))
    return 0 if report["passed"] else EXIT_FAILED


def judge_again(args) -> int:
    from .evidence import Evidence
    from .loader import ScenarioError
    from .report import build_report, summary
    try:
        scenario = _load(args.file)
        evidence = Evidence.from_json(json.loads(Path(args.evidence).read_text()))
    except (ScenarioError, OSError, ValueError, KeyError) as exc:
        return _bad(exc)
    report = build_report(scenario, evidence, runner="recorded evidence", wall_s=None)
    print(summary(report), end="")
    return 0 if report["passed"] else EXIT_FAILED
