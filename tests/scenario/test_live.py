"""Scenarios end to end on the live stack: the real CLI, a real `up`, real engines and moto.

Three shipped scenarios run as a user runs them (`wkp-emu scenario run NAME`);
a short scenario built to fail must fail with its measured numbers; `--attach`
runs on an emulator that is already running and leaves its fleet as it was.
"""
from __future__ import annotations

import json
import subprocess
import urllib.request

import pytest

from emulator.testing import start_emulator
from tests.support.processes import REPO, WKP_EMU
from tests.support.processes import test_env as child_env

pytestmark = pytest.mark.slow


def run(*args, timeout=300) -> subprocess.CompletedProcess:
    return subprocess.run(WKP_EMU + ["scenario", *args], cwd=REPO, env=child_env(), capture_output=True,
                          text=True, timeout=timeout)


def report_of(out) -> dict:
    return json.loads((out / "report.json").read_text())


@pytest.mark.parametrize("name", ["spot-interruption", "scale-to-zero", "function-outage"])
def test_shipped_scenario_passes_on_the_live_stack(name, tmp_path):
    done = run("run", name, "--out", str(tmp_path / name))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    report = report_of(tmp_path / name)
    assert report["passed"] and all(t["ok"] for t in report["timeline"])
    assert report["losses"]["lost_acknowledged"] == 0 and report["losses"]["boots"] >= 1
    assert (tmp_path / name / "timeline.png").stat().st_size > 10_000
    assert f"scenario {name}: PASSED" in done.stdout
    if name == "spot-interruption":  # SIGKILL: only the unpushed tail may go, and it is counted
        assert report["engines"]["relational-1"]["exit_codes"][0] == -9
        assert report["recoveries"][0]["cause"] == "kill" and report["recoveries"][0]["seconds"] < 20
    if name == "function-outage":
        assert report["function"]["counts"]["status_5xx"] > 0 and report["losses"]["lost"] == 0


FAILING = '''\
[scenario]
name = "impossible-bounds"
description = "A recycle measured against bounds no stack can meet: the run must fail and say by how much."
seed = 1
duration = "12s"

[fleet.relational]
replicas = 1

[discovery]
enabled = false

[defaults.env]
WEFTKIT_PERSIST_SCHEDULE = "* * * * * *"

[workload.relational]
rate = 10

[[step]]
at = "4s"
action = "recycle"
engine = "relational-1"

[[expect]]
check = "no_acknowledged_write_lost"

[[expect]]
check = "data_at_risk"
max = "1ms"

[[expect]]
check = "count"
of = "restores"
min = 5
'''


def test_a_scenario_built_to_fail_fails_live_with_its_numbers(tmp_path):
    path = tmp_path / "impossible.toml"
    path.write_text(FAILING)
    done = run("run", str(path), "--out", str(tmp_path / "out"), "--no-picture")
    assert done.returncode == 1, done.stdout + done.stderr
    report = report_of(tmp_path / "out")
    verdicts = {v["check"]: v for v in report["expectations"]}
    assert verdicts["no_acknowledged_write_lost"]["passed"]
    assert not verdicts["data_at_risk"]["passed"] and verdicts["data_at_risk"]["measured"] > 0.001
    assert not verdicts["count"]["passed"] and verdicts["count"]["measured"] == 1
    assert "FAIL  count(of=restores, min=5): measured 1, wanted >= 5" in done.stdout


def test_bad_files_stop_before_anything_starts(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text(FAILING.replace('engine = "relational-1"', 'engine = "relational-2"'))
    done = run("run", str(path))
    assert done.returncode == 2
    assert "bad.toml, line 22: step.1.engine: relational-2 does not exist at this step" in done.stderr
    assert run("check", str(path)).returncode == 2
    listing = run("list")
    assert listing.returncode == 0 and "spot-interruption" in listing.stdout
    nobody = run("run", "spot-interruption", "--attach", "--state-dir", str(tmp_path / "none"))
    assert nobody.returncode == 3 and "no emulator running in" in nobody.stderr
    assert run("run", "no-such-scenario").returncode == 2


ATTACHED = '''\
[scenario]
name = "attached-burst"
description = "A write burst and a recycle on an emulator that was already running."
duration = "8s"

[discovery]
enabled = false

[[step]]
at = "1s"
action = "write_burst"
engine = "vector-1"
writes = 50

[[step]]
action = "wait"
until = "durable"
engine = "vector-1"
timeout = "20s"

[[step]]
action = "recycle"
engine = "vector-1"

[[step]]
action = "wait"
until = "engine_restored"
engine = "vector-1"
timeout = "20s"

[[expect]]
check = "no_acknowledged_write_lost"
engine = "vector-1"

[[expect]]
check = "writes_lost"
max = 0
'''


def test_attach_runs_on_a_running_emulator_and_leaves_its_fleet(tmp_path):
    path = tmp_path / "attached.toml"
    path.write_text(ATTACHED)
    config = "[discovery]\nenabled = false\n[fleet.vector]\nreplicas = 1\n[defaults.env]\n" \
             'WEFTKIT_PERSIST_SCHEDULE = "* * * * * *"\n'
    with start_emulator(toml=config) as emu:
        done = run("run", str(path), "--attach", "--state-dir", str(emu.state_dir), "--out",
                   str(tmp_path / "out"), "--no-picture")
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
        report = report_of(tmp_path / "out")
        assert report["timeline"][0]["result"]["acknowledged"] == {"vector-1": 50}
        assert report["engines"]["vector-1"]["restores"] == 1
        # the fleet is left running: attaching never scales the user's engines away
        assert [e["state"] for e in emu.engines()] == ["running"]
        with urllib.request.urlopen(f"{emu.engine_url('vector-1')}/records?prefix=burst-") as resp:
            records = json.loads(resp.read())
        assert records["count"] == 50


def test_a_runner_killed_with_sigkill_leaves_no_stack(tmp_path):
    """The stack is tied to its runner: SIGKILL the runner, and no engine or store stays behind."""
    import re
    import signal
    import time

    import psutil
    popen = subprocess.Popen(WKP_EMU + ["scenario", "run", "spot-interruption", "--out", str(tmp_path / "o")],
                             cwd=REPO, env=child_env(), stdout=subprocess.PIPE, text=True)
    state = None
    for line in popen.stdout:   # "starting the stack (state in DIR)", then "t=   0.0s ..."
        state = state or (re.search(r"state in (\S+)\)", line) or [None, None])[1]
        if "begins" in line:
            break
    assert state, "the runner never said where its stack lives"
    workdir = state.rsplit("/", 1)[0]   # `up`'s own command line names its config there
    popen.send_signal(signal.SIGKILL)
    popen.wait(10)

    def ours():
        return [p.pid for p in psutil.process_iter(["cmdline"]) if workdir in " ".join(p.info["cmdline"] or ())]
    deadline = time.monotonic() + 30
    while ours() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert ours() == []
