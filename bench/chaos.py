"""Chaos campaign: random fault schedules over a live fleet of all eight kinds, judged by witness.

    python bench/chaos.py [--seed S] [--schedules 200] [--max-minutes 90] [--timeout 240]
    python bench/chaos.py --replay SEED        # one schedule again, on a fresh emulator

One emulator (emulator.testing.start_emulator) runs the whole campaign: all
eight kinds, one replica each, a modest workload per kind, a push every
second, discovery on. Schedule i is drawn from `random.Random(S + i)`
(bench/_chaos_schedule.py): one to three moves from the fault menu (kill -9,
recycle, scale to zero and back, function 5xx / 429 / 401 / latency / outage,
store outage, clock skew, discovery loss and partition) at random times in a
4-7 s window, then a tail that clears the faults and recycles the kinds
checked, so their engines boot and compare what they restored with their
witness. Each schedule is a scenario (the loader checks it as it checks a
file), run with the scenario runner attached to the emulator and judged by its
expectations plus bench/_chaos_judge.py (lost writes explained by rule). After
the last schedule an audit recycles every kind, so every engine's whole
history is checked once more.

Prints schedules run, faults injected by kind, acknowledged writes, writes
lost by rule, restores and findings; a finding prints the schedule's seed,
steps, verdicts and a replay command. Exit status 1 on any finding.
"""
from __future__ import annotations

import argparse
import collections
import json
import signal
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import _chaos_judge as J  # noqa: E402
from bench import _chaos_schedule as C  # noqa: E402

HEALTHY_TIMEOUT_S = 120


class Campaign:
    def __init__(self, args):
        self.args = args
        self.emu = None
        self.faults = collections.Counter()
        self.lost = collections.Counter()
        self.runs = self.restores = self.boots = self.writes = self.refused = self.no_target = 0
        self.findings: list[tuple[int, list[str]]] = []
        self.emu_since = 0.0

    # ---- the emulator ----------------------------------------------------------------
    def start(self) -> None:
        from emulator.scenario import live
        from emulator.testing import start_emulator
        live.READY_TIMEOUT_S = max(live.READY_TIMEOUT_S, 600)  # eight engines on 2 busy cores
        self.emu = start_emulator(toml=C.emulator_toml())
        self.emu_since = time.time()

    def stop(self) -> None:
        """Count the writes on this emulator's witnesses (lost ones were counted at their
        boots), then stop it."""
        if self.emu is None:
            return
        from emulator.scenario.live import _collect_witness
        witness, _ = _collect_witness(self.emu.state_dir)
        self.writes += J.witnessed_writes(witness, self.emu_since)
        self.emu.stop()
        self.emu = None

    def healthy(self) -> bool:
        """Every engine of the fleet running; a failed one is recycled (not part of any schedule)."""
        deadline = time.monotonic() + HEALTHY_TIMEOUT_S
        while time.monotonic() < deadline:
            try:
                engines = self.emu.engines()
                down = [e for e in engines if e["state"] != "running"]
                if len(engines) == len(C.KINDS) and not down:
                    return True
                for e in down:
                    if e["state"] in ("failed", "crashed", "stopped"):
                        self.emu.control.post(f"/v1/engines/{e['name']}/recycle")
            except Exception:  # noqa: BLE001 - between pods; keep trying until the deadline
                pass
            time.sleep(1)
        return False

    # ---- one schedule ------------------------------------------------------------------
    def run_one(self, schedule: C.Schedule) -> J.Outcome:
        from emulator.scenario.live import run_live
        scenario = C.scenario(schedule)
        box: dict = {}

        def target():
            try:
                box["run"] = run_live(scenario, attach=True, state_dir=str(self.emu.state_dir),
                                      log=print if self.args.verbose else (lambda m: None))
            except Exception as exc:  # noqa: BLE001 - reported as a finding
                box["error"] = f"{type(exc).__name__}: {exc}"
        thread = threading.Thread(target=target, daemon=True)
        thread.start()
        thread.join(self.args.timeout)
        if thread.is_alive() or "error" in box:
            out = J.Outcome(schedule.seed)
            out.findings.append(box.get("error") or f"the schedule did not end within {self.args.timeout:g}s")
            return out
        fleet = self.emu.engines()
        return J.assess(scenario, box["run"].evidence, fleet)

    def record(self, schedule: C.Schedule, out: J.Outcome) -> None:
        self.runs += bool(schedule.moves)  # the audit is not one of the schedules
        self.faults.update(m.name for m in schedule.moves)
        self.lost.update(out.lost)
        self.restores += out.restores
        self.boots += out.boots
        self.refused += out.refused_boots
        self.no_target += out.kills_without_target
        if out.findings:
            self.findings.append((schedule.seed, out.findings))
            print_finding(schedule, out)
        elif self.args.verbose:
            print(f"schedule {schedule.seed}: ok ({', '.join(m.name for m in schedule.moves) or 'audit'}; "
                  f"boots {out.boots}, lost {dict(out.lost)})", flush=True)

    def schedule_ok(self, schedule: C.Schedule) -> bool:
        """Run, judge and count one schedule; False when the emulator had to be replaced."""
        if not self.healthy():
            out = J.Outcome(schedule.seed, findings=["the fleet was not healthy before the schedule "
                                                     "(an engine stayed down); emulator restarted"])
            self.record(schedule, out)
            self.stop()
            self.start()
            return False
        out = self.run_one(schedule)
        self.record(schedule, out)
        if any("did not end within" in f for f in out.findings):
            self.stop()   # the runner thread may still act: give it a dead stack, take a new one
            self.start()
            return False
        return True


def print_finding(schedule: C.Schedule, out: J.Outcome) -> None:
    print(f"FINDING in schedule {schedule.seed}:", flush=True)
    for line in C.describe(schedule):
        print(line)
    for v in out.verdicts:
        print(f"  {'PASS' if v.passed else 'FAIL'}  {v.description}: measured {v.measured}, wanted {v.bound}")
    for f in out.findings:
        print(f"  finding: {f}")
    print(f"  replay: python bench/chaos.py --replay {schedule.seed}", flush=True)


def summary(c: Campaign, seconds: float, seed: int, complete: bool, audit: bool = True) -> None:
    faults = sum(c.faults.values())
    print(f"chaos campaign (seed {seed}): {c.runs} schedules run{', then the audit,' if audit else ''} "
          f"in {seconds / 60:.1f} min"
          + ("" if complete else " (stopped early: time limit)"))
    print(f"faults injected: {faults} (" + ", ".join(f"{k} {c.faults[k]}" for k in C.FAULT_NAMES
                                                     if c.faults[k]) + ")")
    print(f"writes: {c.writes + sum(c.lost.values())} acknowledged client writes (witnessed); "
          f"boots checked against their witness: {c.boots}, restores: {c.restores}; "
          f"boots that refused to serve while a fault failed their restore: {c.refused}; "
          f"kills of an engine that was not running: {c.no_target}")
    allowed = c.lost["sigkill"] + c.lost["unflushed_stop"]
    print(f"writes lost: {c.lost['other']} beyond the declared rule (goal 0); {allowed} allowed "
          f"({c.lost['sigkill']} under SIGKILL after the last acknowledged push, "
          f"{c.lost['unflushed_stop']} in a final flush refused by a fault, exit 3)")
    print(f"findings: {len(c.findings)} (goal 0)"
          + (" in schedules " + ", ".join(str(s) for s, _ in c.findings) if c.findings else ""))


def _terminate_as_interrupt(signum, frame):
    raise KeyboardInterrupt  # so that `finally` stops the emulator (it runs in a session of its own)


def campaign(args) -> int:
    signal.signal(signal.SIGTERM, _terminate_as_interrupt)
    c = Campaign(args)
    started = time.monotonic()
    c.start()
    complete = True
    try:
        for i in range(args.schedules):
            if time.monotonic() - started > args.max_minutes * 60:
                complete = False
                break
            c.schedule_ok(C.draw(args.seed + i))
            if args.progress and (i + 1) % args.progress == 0:
                print(f"  {i + 1} schedules, {len(c.findings)} findings, "
                      f"{(time.monotonic() - started) / 60:.1f} min", flush=True)
        c.schedule_ok(C.audit(args.seed + args.schedules))
    finally:
        c.stop()
    summary(c, time.monotonic() - started, args.seed, complete)
    if args.json:
        Path(args.json).write_text(json.dumps({"findings": c.findings, "faults": c.faults,
                                               "lost": c.lost, "runs": c.runs}, indent=1))
    return 1 if c.findings else 0


def replay(args) -> int:
    schedule = C.draw(args.replay)
    print(f"replaying schedule {args.replay} on a fresh emulator:")
    for line in C.describe(schedule):
        print(line)
    c = Campaign(args)
    started = time.monotonic()
    c.start()
    try:
        c.schedule_ok(schedule)
    finally:
        c.stop()
    summary(c, time.monotonic() - started, args.replay, True, audit=False)
    return 1 if c.findings else 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--seed", type=int, default=1, help="schedule i uses seed SEED+i")
    p.add_argument("--schedules", type=int, default=200)
    p.add_argument("--replay", type=int, metavar="SEED", help="run that one schedule on a fresh emulator")
    p.add_argument("--max-minutes", type=float, default=120, help="start no schedule after this")
    p.add_argument("--timeout", type=float, default=240, help="seconds one schedule may take")
    p.add_argument("--progress", type=int, default=10, metavar="N", help="a line every N schedules (0: none)")
    p.add_argument("--show", type=int, metavar="SEED", help="print a schedule's scenario file and exit")
    p.add_argument("--json", metavar="FILE", help="write the findings and counts as JSON")
    p.add_argument("-v", "--verbose", action="store_true", help="every step and every schedule")
    args = p.parse_args(argv)
    if args.show is not None:
        print(C.draw(args.show).toml, end="")
        return 0
    return replay(args) if args.replay is not None else campaign(args)


if __name__ == "__main__":
    sys.exit(main())
