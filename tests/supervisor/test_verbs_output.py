"""What the CLI verbs print, through the real CLI against a real `wkp-emu up`:
one readable line per effect by default, the control API's JSON with --json."""
from __future__ import annotations

import json
import re
import subprocess

import pytest

from tests.support.emulator import FAST, start_emulator
from tests.support.processes import REPO, WKP_EMU
from tests.support.processes import test_env as child_env

pytestmark = pytest.mark.slow
POD_LINE = re.compile(r"^(recycled|restarted) (\w+-\d+): generation (\d+), pid (\d+), port (\d+), "
                      r"instance (\S+)( \(same volume\))?$")


def run_cli(emu, *args) -> str:
    out = subprocess.run(WKP_EMU + [*args, "--state-dir", str(emu.state_dir)], capture_output=True,
                         text=True, env=child_env(), cwd=REPO, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout


@pytest.fixture(scope="module")
def emu(tmp_path_factory):
    """One emulator (keyvalue x1) for the module; each test leaves it so. `down`
    is checked when the module is done with it, whatever order the tests ran in."""
    emulator = start_emulator(tmp_path_factory.mktemp("verbs"), FAST + "[fleet.keyvalue]\nreplicas = 1\n")
    try:
        yield emulator
        assert lines(run_cli(emulator, "down")) == [
            "emulator stopping: engines flush, then the store is archived"]
        assert emulator.popen.wait(60) == 0
    finally:
        emulator.stop()


@pytest.fixture
def cli(emu):
    return lambda *args: run_cli(emu, *args)


def lines(text: str) -> list[str]:
    found = text.splitlines()
    assert found and not any(line.lstrip().startswith(("{", "[", '"')) for line in found), text
    return found


def matches_the_pod(emu, line: str) -> re.Match:
    """The line's generation, pid and port are the control API's for that engine."""
    m = POD_LINE.match(line)
    assert m, line
    pod = emu.control.get(f"/v1/engines/{m[2]}")
    assert (int(m[3]), int(m[4]), int(m[5]), m[6]) == (pod["generation"], pod["pid"], pod["port"],
                                                       pod["instance_id"]), (line, pod)
    return m


def test_scale_prints_what_started_and_stopped(emu, cli):
    assert lines(cli("scale", "keyvalue", "2")) == ["scaled keyvalue to 2 replicas", "started keyvalue-2"]
    assert lines(cli("scale", "keyvalue", "2")) == ["keyvalue already at 2 replicas"]
    answer = json.loads(cli("scale", "keyvalue", "1", "--json"))
    assert answer == {"kind": "keyvalue", "replicas": 1, "started": [], "stopped": ["keyvalue-2"]}


def test_recycle_restart_and_kill_print_one_line_per_engine(emu, cli):
    [line] = lines(cli("recycle", "keyvalue-1"))
    assert matches_the_pod(emu, line)[1] == "recycled"
    generation = emu.control.get("/v1/engines/keyvalue-1")["generation"]
    cli("scale", "keyvalue", "2")
    rolled = lines(cli("recycle", "keyvalue", "--rolling"))
    assert [matches_the_pod(emu, line)[2] for line in rolled] == ["keyvalue-2", "keyvalue-1"]
    [line] = lines(cli("restart", "keyvalue-1"))
    m = matches_the_pod(emu, line)
    assert m[1] == "restarted" and m[7] and int(m[3]) == generation + 2
    assert json.loads(cli("restart", "keyvalue-1", "--json"))["generation"] == generation + 3
    pid, seen = emu.control.get("/v1/engines/keyvalue-2")["pid"], len(emu.events)
    assert lines(cli("kill", "keyvalue-2")) == [
        f"killed keyvalue-2: pid {pid} exited -9 (SIGKILL), no final flush"]
    emu.wait_event("engine.started", "keyvalue-2", after=seen)  # its replacement
    cli("scale", "keyvalue", "1")


def test_fault_set_list_clear(emu, cli):
    cli("fault", "clear")
    first = lines(cli("fault", "set", "target=function", "kind=error", "status=503", "count=3",
                      "paths=/persist"))
    m = re.fullmatch(r"fault (\d+) set: function error status=503 count=3 paths=/persist", first[0])
    assert m and len(first) == 1, first
    assert lines(cli("fault", "set", "target=store", "kind=latency", "ms=5")) == [
        f"fault {int(m[1]) + 1} set: store latency ms=5"]
    assert lines(cli("fault", "set", "target=engine", "engine=keyvalue-1", "clock_skew_s=5")) == [
        "fault set: engine keyvalue-1 clock_skew_s=+5"]
    as_json = json.loads(cli("fault", "set", "target=function", "kind=latency", "ms=1", "--json"))
    assert as_json["kind"] == "latency" and as_json["id"] == int(m[1]) + 2
    table = lines(cli("fault", "list"))
    assert table[0].split() == ["ID", "TARGET", "KIND", "SETTINGS"] and len(table) == 2 + 4
    assert len(json.loads(cli("fault", "list", "--json"))["function"]) == 3
    assert lines(cli("fault", "clear")) == ["faults cleared: function/store 3, engine clocks 1, discovery 0"]
    assert json.loads(cli("fault", "clear", "--json"))["function"] == 0


def test_reset(emu, cli):
    [line] = lines(cli("reset"))
    assert re.fullmatch(r"store emptied: \d+ objects removed", line), line
    assert set(json.loads(cli("reset", "--json"))) == {"removed"}


def test_status_shows_the_function_instances(emu, cli):
    """The instance line is the control API's /v1/function counters (they only grow
    between the two reads, and the settings stay), within 80 columns."""
    before = emu.control.get("/v1/function")["instances"]
    out = lines(cli("status"))
    after = emu.control.get("/v1/function")["instances"]
    at = [i for i, line in enumerate(out) if line.startswith("function instances: ")]
    assert len(at) == 1, out
    found = out[at[0]:at[0] + 2]
    assert all(len(line) <= 80 for line in found), found
    m = re.match(r"function instances: (\d+) live, (\d+) busy \(max (\d+) x (\d+)\)\n  (\d+) cold starts?, "
                 r"(\d+) warm hits?, (\d+) throttles?, (\d+) reaped$", "\n".join(found))
    assert m, found
    settings = after["settings"]
    assert (int(m[3]), int(m[4])) == (settings["instances_max"], settings["instance_concurrency"])
    for group, key in ((5, "cold_starts"), (6, "warm_hits"), (7, "throttles"), (8, "reaped")):
        assert before[key] <= int(m[group]) <= after[key], (key, found)
    assert int(m[1]) >= 1 and not any(line.startswith("platform ") for line in out)  # no profile set
    shown = json.loads(cli("status", "--json"))["function"]
    assert set(shown["instances"]) >= {"live", "busy", "cold_starts", "warm_hits", "settings", "instances"}
    assert shown["platform"]["profile"] is None
