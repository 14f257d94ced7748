"""The pytest plugin, used the way a user uses it: a test suite of theirs, run by pytest.

The suite below is written to a temporary directory and run by a real pytest
in a subprocess, with nothing but the installed package: the plugin must load
from its entry point and its fixtures must start, serve and stop a real stack.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from tests.support.processes import REPO
from tests.support.processes import test_env as child_env

pytestmark = pytest.mark.slow

USER_SUITE = '''
import json
import time
import urllib.request


def put(url, body):
    urllib.request.urlopen(urllib.request.Request(url, data=body, method="PUT")).read()


def test_endpoints_and_a_recycle(wkp_emulator):
    assert wkp_emulator.endpoint.startswith("http://127.0.0.1:")
    open("state_dir.txt", "w").write(str(wkp_emulator.state_dir))
    assert wkp_emulator.env["WEFTKIT_PERSIST_SECRET"] == wkp_emulator.secret
    assert [e["name"] for e in wkp_emulator.engines()] == ["relational-1"]
    url = wkp_emulator.engine_url("relational-1")
    put(url + "/records/k1", b'{"row": 1}')
    wkp_emulator.control.post("/v1/engines/relational-1/recycle")
    assert wkp_emulator.engine_url("relational-1") == url   # the slot keeps its address
    assert urllib.request.urlopen(url + "/records/k1").read() == b'{"row": 1}'


def test_the_same_emulator_for_the_session(wkp_emulator):
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # the supervisor polls each engine's status every second
        status = wkp_emulator.control.get("/v1/engines/relational-1")
        if status["boot"]:
            break
        time.sleep(0.1)
    assert status["generation"] == 2 and status["boot"]["how"] == "restored"


def test_a_scenario_on_the_session_emulator(wkp_scenario):
    report = wkp_scenario("recycle.toml", attach=True)
    assert report["passed"] and report["losses"]["lost_acknowledged"] == 0


def test_a_failing_scenario_fails_the_test_with_its_summary(wkp_scenario):
    wkp_scenario("impossible.toml", attach=True)
'''

SCENARIO = '''
[scenario]
name = "{name}"
description = "Recycle relational-1 on the session's emulator and check what came back."
duration = "6s"

[discovery]
enabled = false

[[step]]
at = "1s"
action = "recycle"
engine = "relational-1"

[[expect]]
check = "no_acknowledged_write_lost"

[[expect]]
check = "count"
of = "restores"
min = {restores}
'''

CONFIG = '''
[discovery]
enabled = false
[fleet.relational]
replicas = 1
[defaults.env]
WEFTKIT_PERSIST_SCHEDULE = "* * * * * *"
'''


def test_users_suite_runs_with_the_plugins_fixtures(tmp_path):
    (tmp_path / "test_with_wkp.py").write_text(USER_SUITE)
    (tmp_path / "recycle.toml").write_text(SCENARIO.format(name="recycle", restores=1))
    (tmp_path / "impossible.toml").write_text(SCENARIO.format(name="impossible", restores=9))
    (tmp_path / "wkp-emu.toml").write_text(CONFIG)
    (tmp_path / "pytest.ini").write_text("[pytest]\nwkp_emu_config = wkp-emu.toml\n")
    done = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rf",
                           "test_with_wkp.py"], cwd=tmp_path, env=child_env(), capture_output=True,
                          text=True, timeout=300)
    out = done.stdout + done.stderr
    assert "1 failed, 3 passed" in out, out[-4000:]
    assert "FAILED test_with_wkp.py::test_a_failing_scenario_fails_the_test_with_its_summary" in out
    assert "scenario impossible failed:" in out
    assert "FAIL  count(of=restores, min=9): measured 1, wanted >= 9" in out
    # nothing is left running: the fixture stopped the stack and removed its state
    state_dir = (tmp_path / "state_dir.txt").read_text()
    assert state_dir and not Path(state_dir).exists()
    left = [p.info["cmdline"] for p in psutil.process_iter(["cmdline"])
            if state_dir in " ".join(p.info["cmdline"] or ())]
    assert left == []
