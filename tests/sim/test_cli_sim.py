"""`wkp-emu scenario run FILE --sim`, as a user runs it (a real process).

The same report files as a live run; byte-identical for the same file and
seed; a sim-only file is refused by the live runner with the line named, and
accepted by `scenario check`.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SIM_ONLY = """\
[scenario]
name = "two-days"
description = "Two days of one engine: longer than the live runner runs."
duration = "2d"

[fleet.keyvalue]
replicas = 1

[sim]
witness = "batches"

[sim.network]
latency_ms = 20
loss = 0.01

[discovery]
enabled = false

[workload.keyvalue]
rate = 1

[[step]]
at = "50m"
action = "recycle"
engine = "keyvalue-1"

[[expect]]
check = "no_acknowledged_write_lost"
"""


def wkp_emu(*args, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "emulator.cli", *args], capture_output=True, text=True,
                          timeout=120, cwd=cwd)


class Answer:
    def __init__(self, code, out, err):
        self.returncode, self.stdout, self.stderr = code, out, err


def cli(capsys, *args) -> Answer:
    """The command in this process (its parsing and messages are what is tested here)."""
    from emulator.cli import main
    code = main(list(args))
    out, err = capsys.readouterr()
    return Answer(code, out, err)


def test_sim_run_writes_the_report_files_byte_identical_for_the_same_seed(tmp_path, capsys):
    outs = [tmp_path / "a", tmp_path / "b", tmp_path / "c"]
    first = wkp_emu("scenario", "run", "spot-interruption", "--sim", "--out", str(outs[0]))
    assert first.returncode == 0, first.stdout + first.stderr
    assert "scenario spot-interruption: PASSED (simulated, seed 11" in first.stdout
    assert wkp_emu("scenario", "run", "spot-interruption", "--sim", "--no-picture",
                   "--out", str(outs[1])).returncode == 0
    assert {p.name for p in outs[0].iterdir()} >= {"report.json", "summary.txt", "evidence.json",
                                                  "timeline.png"}
    for name in ("report.json", "summary.txt", "evidence.json"):
        assert (outs[0] / name).read_bytes() == (outs[1] / name).read_bytes(), name
    report = json.loads((outs[0] / "report.json").read_text())
    assert report["runner"] == "simulated, seed 11" and report["passed"]
    other = cli(capsys, "scenario", "run", "spot-interruption", "--sim", "--seed", "12", "--no-picture",
                "--out", str(outs[2]))
    assert other.returncode == 0 and "(simulated, seed 12" in other.stdout


def test_a_sim_only_file_is_refused_live_with_its_line_and_runs_simulated(tmp_path, capsys):
    path = tmp_path / "two-days.toml"
    path.write_text(SIM_ONLY)
    live = cli(capsys, "scenario", "run", str(path))
    assert live.returncode == 2
    assert f"{path}, line 4: scenario.duration: a '2d' timeline is longer than the live runner's 1h" \
        in live.stderr
    assert "--sim" in live.stderr and "Traceback" not in live.stderr
    path.write_text(SIM_ONLY.replace('duration = "2d"', 'duration = "1h"'))
    live = cli(capsys, "scenario", "run", str(path))
    assert live.returncode == 2 and f"{path}, line 9: sim: [sim] settings are for the simulator" in live.stderr
    check = cli(capsys, "scenario", "check", str(path))
    assert check.returncode == 0 and "ok" in check.stdout
    sim = cli(capsys, "scenario", "run", str(path), "--sim", "--no-picture", "--out", str(tmp_path / "r"))
    assert sim.returncode == 0, sim.stdout + sim.stderr
    assert "PASSED" in sim.stdout


def test_bad_sim_settings_name_the_key_and_line(tmp_path, capsys):
    path = tmp_path / "bad.toml"
    path.write_text(SIM_ONLY.replace("loss = 0.01", "loss = 2"))
    out = cli(capsys, "scenario", "check", str(path))
    assert out.returncode == 2
    assert f"{path}, line 14: sim.network.loss: must be a number from 0 to 1, got 2" in out.stderr
    path.write_text(SIM_ONLY.replace('witness = "batches"', 'autoscale_magic = 1'))
    out = cli(capsys, "scenario", "check", str(path))
    assert out.returncode == 2 and "sim.autoscale_magic: unknown key; [sim] has" in out.stderr
    out = cli(capsys, "scenario", "run", "spot-interruption", "--seed", "3")
    assert out.returncode == 2 and "--seed" in out.stderr and "go with --sim" in out.stderr
