"""The simulator's benches: the agreement arithmetic, and both scripts end to end on small inputs."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench import sim_vs_live as V

REPO = Path(__file__).resolve().parents[2]


def report(pushes=10, restores=1, bytes_pushed=1000, worst=2.0, recovery=3.0, passed=True):
    return {"function": {"counts": {"pushes": pushes, "restores": restores}},
            "engines": {"a-1": {"bytes_pushed": bytes_pushed}},
            "data_at_risk": {"max_s": worst},
            "recoveries": [] if recovery is None else [{"seconds": recovery}, {"seconds": None}],
            "passed": passed, "wall_s": 1.0}


def test_agreement_is_sim_over_live_minus_one_and_zero_on_both_sides_agrees():
    assert V.agreement(10, 11) == pytest.approx(0.1)
    assert V.agreement(0, 0) == 0.0 and V.agreement(None, None) == 0.0
    assert V.agreement(0, 3) is None and V.agreement(3, None) is None


def test_counts_are_held_to_5_percent_and_windows_to_10():
    c = V.compare("x", report(), report(pushes=11, worst=2.19, recovery=None))
    m = c["measures"]
    assert not m["pushes"]["ok"] and m["pushes"]["diff"] == pytest.approx(0.1)
    assert m["worst_at_risk_s"]["ok"] and m["restores"]["ok"]
    assert m["recovery_s"]["diff"] is None and not m["recovery_s"]["ok"]
    text = V.table([c])
    assert "n/a" in text and "agreement: 3/5 measures within their goal" in text


def _bench(tmp_path, *extra):
    out = tmp_path / "cmp.json"
    proc = subprocess.run([sys.executable, "bench/sim_vs_live.py", "--scenarios", "spot-interruption",
                           "--live-from", str(tmp_path / "live"), "--swim-trials", "0", "--json", str(out),
                           *extra], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout, json.loads(out.read_text())["results"][0]


def test_sim_vs_live_gives_the_simulated_run_the_live_runs_clock_at_time_zero(tmp_path):
    # A kept "live" report made by the simulator itself, its engines' clock at time zero set to what
    # its evidence's start reads (a live run's start is its wall-clock time zero): the bench reads
    # the clock from the kept evidence, so everything must agree exactly.
    from emulator.scenario.library import resolve
    from emulator.scenario.loader import load_scenario
    from sim.calibration import load_calibration
    from sim.runner import simulate
    path = resolve("spot-interruption")
    calibration = load_calibration().model_parameters()  # as the CLI and the bench simulate
    start = simulate(load_scenario(path), calibration=calibration).evidence.start  # not moved by the clock
    clocked = tmp_path / "spot-interruption.toml"
    clocked.write_text(path.read_text() + f"\n[sim]\nclock_at_zero = {start!r}\n")
    subprocess.run([sys.executable, "-m", "emulator.cli", "scenario", "run", str(clocked), "--sim",
                    "--no-picture", "--quiet", "--out", str(tmp_path / "live" / "spot-interruption")],
                   cwd=REPO, check=True, capture_output=True)
    stdout, result = _bench(tmp_path)
    assert "agreement: 5/5 measures within their goal" in stdout
    assert result["scenario"] == "spot-interruption" and result["clock_at_zero"] == start


def test_sim_vs_live_can_leave_the_clock_to_the_seed(tmp_path):
    # A kept run on the seed's drawn clock agrees exactly with --phase drawn (the same seed draws it).
    subprocess.run([sys.executable, "-m", "emulator.cli", "scenario", "run", "spot-interruption", "--sim",
                    "--no-picture", "--quiet", "--out", str(tmp_path / "live" / "spot-interruption")],
                   cwd=REPO, check=True, capture_output=True)
    stdout, result = _bench(tmp_path, "--phase", "drawn")
    assert "agreement: 5/5 measures within their goal" in stdout and result["clock_at_zero"] is None


def test_sim_speed_prints_the_model_event_rate_against_a_bare_simpy_loop():
    proc = subprocess.run([sys.executable, "bench/sim_speed.py", "--skip-scale", "--rate-scenario",
                           "spot-interruption", "--rate-duration", "2m"], cwd=REPO, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "bare SimPy timeout loop" in proc.stdout and "ratio" in proc.stdout
    assert "floor: the protocol core alone costs" in proc.stdout  # and the ceiling it puts on the ratio


def test_core_floor_times_the_machine_and_the_function_decision_on_their_own():
    proc = subprocess.run([sys.executable, "bench/core_floor.py", "--rounds", "2000", "--push-rounds", "1000"],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    line = proc.stdout.strip()
    assert line.startswith("core floor: engine machine ") and "x a bare SimPy timeout" in line, line
    assert line.endswith("for 1,000 push rounds"), line


def test_live_pod_times_are_the_runs_own_medians_after_time_zero():
    def ev(at, kind, data=None):
        return {"at": at, "kind": kind, "subject": "a-1", "data": data or {}}
    evidence = {"start": 100.0, "events": [
        ev(95.0, "engine.starting"), ev(99.0, "engine.started"),            # the initial fleet: left out
        ev(106.0, "engine.stopping"), ev(106.5, "engine.stopped", {"exit_code": 0}),
        ev(106.5, "engine.starting"), ev(107.5, "engine.started"),
        ev(110.0, "engine.killed", {"exit_code": -9}),
        ev(111.0, "engine.starting"), ev(112.5, "engine.started"),
        ev(120.0, "engine.stopping"), ev(120.3, "engine.stopped", {"exit_code": 0})]}
    times = V.live_pod_times(evidence, restore_base_s=0.25)
    assert times == {"engine_start_s": 1.0, "engine_stop_s": 0.4}  # medians 1.25 - 0.25 and 0.4
    assert V.live_pod_times({"start": 0.0, "events": []}, 0.25) == {}
