"""How fast the simulator runs, against bare SimPy loops measured in the same run.

Two figures (issue 11's speed goals):

1. Event rate: the model's SimPy events per wall second, on a day of the
   scale scenario (`--rate-scenario`, `--rate-duration`; steps dropped), against a
   bare SimPy loop (processes that only `yield env.timeout(...)`) of the same
   number of processes. Goal: ratio >= 0.3. The model's events are what its
   SimPy environment scheduled (timeouts, process steps, conditions); its
   domain work per event (engine machine rounds, the function's rules) is what
   makes the ratio below 1.

2. Scale: a month of 1,000 engines at the 15-minute schedule with a realistic
   workload (`--scenario`, default the shipped month-at-scale), run in a child
   process so its peak memory is its own: wall time (goal <= 60 s) and peak RSS
   (goal <= 2 GiB), each beside the same-run baseline of a bare SimPy loop with
   one timeout per push round the model ran (its `/persist` requests).

3. The floor under both (bench/core_floor.py): the protocol core alone, the
   engine machine through a push round and the function's decision on the
   push, timed in a tight loop with no simulation around them. Multiplied by a
   run's push rounds it is a time no simulation of those rounds can beat on
   this interpreter while it runs that core per engine and per round (what
   makes its decisions the live ones); divided into the model's SimPy events
   per push round it is the highest event rate such a model could reach.

    python bench/sim_speed.py [--scenario FILE|NAME] [--rate-scenario FILE|NAME] [--rate-duration 1d]
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

GiB = 1 << 30
CHILD = r"""
import json, sys, time, resource, tomllib
import simpy
envs = []
_init = simpy.Environment.__init__
def _capture(self, *a, **k):            # the bench's own hook: which environment the model built
    _init(self, *a, **k)
    envs.append(self)
simpy.Environment.__init__ = _capture
from emulator.scenario.library import resolve
from emulator.scenario.loader import _build_scenario
from sim.calibration import load_calibration
from sim.runner import fleet_sizes, simulate
path, duration = resolve(sys.argv[1]), sys.argv[2]
data = tomllib.loads(path.read_text())
if duration:                            # shortened: steps and expectations are placed in time, dropped
    data["scenario"]["duration"] = duration
    data.pop("step", None)
    data.pop("expect", None)
scenario = _build_scenario(data, str(path))
began = time.perf_counter()
run = simulate(scenario, calibration=load_calibration().model_parameters())
wall = time.perf_counter() - began
print(json.dumps({"wall_s": wall, "events": sum(next(e._eid) for e in envs),
                  "persist_requests": sum(n for k, n in run.counts["requests"].items() if k.startswith("/persist ")),
                  "engines": sum(fleet_sizes(scenario).values()), "duration_s": scenario.duration_s,
                  "maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""


def run_child(scenario: str, duration: str = "") -> dict:
    proc = subprocess.run([sys.executable, "-c", CHILD, scenario, duration],
                          capture_output=True, text=True, cwd=Path(__file__).resolve().parents[1])
    if proc.returncode != 0:
        raise SystemExit(f"sim_speed: the simulated run of {scenario} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def bare_loop(processes: int, events: int) -> tuple[float, int]:
    """`processes` SimPy processes sharing `events` timeouts; (wall seconds, events)."""
    import simpy
    env = simpy.Environment()
    per = max(1, events // max(1, processes))

    def proc(i):
        for _ in range(per):
            yield env.timeout(1.0 + i * 1e-6)
    for i in range(processes):
        env.process(proc(i))
    began = time.perf_counter()
    env.run()
    wall = time.perf_counter() - began
    return wall, next(env._eid)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scenario", default="month-at-scale", help="the scale run (default month-at-scale)")
    ap.add_argument("--rate-scenario", default="month-at-scale",
                    help="the event-rate run: this scenario shortened to --rate-duration, without its steps")
    ap.add_argument("--rate-duration", default="1d")
    ap.add_argument("--skip-scale", action="store_true", help="only the event rate")
    ap.add_argument("--scale-duration", default="",
                    help="run the scale scenario this long (without its steps) and also print the wall time "
                    "extrapolated to its own duration (default: its whole duration)")
    args = ap.parse_args()

    # 1. event rate, on a day of the scenario
    rate = run_child(args.rate_scenario, args.rate_duration)
    bare_wall, bare_events = bare_loop(max(1, rate["engines"]), rate["events"])
    model_rate, bare_rate = rate["events"] / rate["wall_s"], bare_events / bare_wall
    print(f"event rate: model {model_rate:,.0f} SimPy events/s ({rate['events']:,} events, {rate['engines']} engines, "
          f"{rate['duration_s'] / 86400:g} d simulated in {rate['wall_s']:.2f} s); bare SimPy timeout loop "
          f"{bare_rate:,.0f} events/s; ratio {model_rate / bare_rate:.2f} (goal >= 0.3)")
    from core_floor import floor
    machine_s, decision_s, _ = floor(1)
    per_round = machine_s + decision_s
    events_per_round = rate["events"] / max(1, rate["persist_requests"])
    ceiling = events_per_round / per_round
    print(f"floor: the protocol core alone costs {per_round * 1e6:.1f} us per push round (engine machine "
          f"{machine_s * 1e6:.1f} + function decision {decision_s * 1e6:.1f}); at the model's "
          f"{events_per_round:.2f} SimPy events per push round no model running it could exceed "
          f"{ceiling:,.0f} events/s, ratio {ceiling / bare_rate:.2f}")
    if args.skip_scale:
        return 0

    # 2. the month at scale, in a child process of its own (its peak RSS is its own)
    scale = run_child(args.scenario, args.scale_duration)
    child_rss = scale["maxrss_kib"] * 1024
    bare_wall, bare_events = bare_loop(scale["engines"], scale["persist_requests"])
    print(f"scale: {scale['engines']} engines x {scale['duration_s'] / 86400:g} d: wall {scale['wall_s']:.1f} s "
          f"(goal <= 60 s for 30 d), {scale['duration_s'] / scale['wall_s']:,.0f}x real time; "
          f"{scale['persist_requests']:,} push requests; {scale['wall_s'] / bare_wall:.1f}x a bare SimPy loop of "
          f"one timeout per push request ({bare_wall:.2f} s)")
    print(f"floor: the core alone for the scale run's {scale['persist_requests']:,} push rounds: "
          f"{per_round * scale['persist_requests']:.0f} s (the scale run took {scale['wall_s']:.1f} s)")
    if args.scale_duration:
        from emulator.scenario.library import resolve
        from emulator.scenario.loader import load_scenario
        whole = load_scenario(resolve(args.scenario)).duration_s
        print(f"scale: extrapolated linearly to the scenario's {whole / 86400:g} d: "
              f"{scale['wall_s'] * whole / scale['duration_s']:.0f} s wall (measured over "
              f"{scale['duration_s'] / 86400:g} d only)")
    print(f"scale: peak RSS {child_rss / GiB:.2f} GiB (goal <= 2 GiB), {child_rss / _bare_rss():.1f}x a bare "
          f"interpreter with the simulator imported")
    return 0


def _bare_rss() -> int:
    proc = subprocess.run([sys.executable, "-c", "import resource, sim.runner; "
                           "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"],
                          capture_output=True, text=True, cwd=Path(__file__).resolve().parents[1])
    return int(proc.stdout.strip()) * 1024


if __name__ == "__main__":
    sys.exit(main())
