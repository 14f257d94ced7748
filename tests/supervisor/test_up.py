"""`wkp-emu up` end to end: real supervisor, real engines, real function and moto."""
from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import psutil
import pytest

from engines_fake.kinds import PROFILES
from tests.support.emulator import FAST, start_emulator
from tests.support.processes import REPO, WKP_EMU
from tests.support.processes import test_env as child_env

pytestmark = pytest.mark.slow
ALL_KINDS = FAST + "".join(f"[fleet.{k}]\nreplicas = 1\n" for k in PROFILES)


def call(method: str, url: str, body: bytes | None = None) -> tuple[int, bytes]:
    req = urllib.request.Request(url, data=body, method=method)
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def write_records(url: str, kind: str, n: int, seed: int = 1) -> dict[str, bytes]:
    rng, written = random.Random(seed), {}
    for i in range(n):
        value = PROFILES[kind].generate(rng, i)
        status, _ = call("PUT", f"{url}/records/k{i}", value)
        assert status == 200, (kind, status)
        written[f"k{i}"] = value
    return written


def digest(url: str) -> dict:
    return json.loads(call("GET", f"{url}/digest")[1])


def port_free(port: int) -> bool:
    """Nobody listens on it (TIME_WAIT remnants do not count: servers bind with SO_REUSEADDR)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def test_every_kind_survives_a_recycle(tmp_path):
    emu = start_emulator(tmp_path, ALL_KINDS)
    try:
        before = {}
        for kind in PROFILES:
            url = emu.engine_url(f"{kind}-1")
            write_records(url, kind, 3 if kind == "filestore" else 20)
            before[kind] = digest(url)
        for kind in PROFILES:  # SIGTERM: the final flush, then a new pod on an empty volume
            pod = emu.control.post(f"/v1/engines/{kind}-1/recycle")
            assert pod["generation"] == 2 and pod["state"] == "running"
        for kind in PROFILES:
            url = emu.engine_url(f"{kind}-1")
            assert digest(url) == before[kind], kind
            status = json.loads(call("GET", f"{url}/status")[1])
            assert status["boot"]["how"] == "restored", kind
            assert status["durable_lsn"] == status["lsn"]  # the ledger: nothing acknowledged lost
        emu.wait_event("engine.restored", "vector-1")
    finally:
        assert emu.stop() == 0


def test_scale_out_to_zero_and_back(tmp_path):
    emu = start_emulator(tmp_path, FAST + "[fleet.vector]\nreplicas = 1\n")
    try:
        url = emu.engine_url("vector-1")
        write_records(url, "vector", 10)
        state = digest(url)
        out = emu.control.post("/v1/fleet/vector/scale", {"replicas": 3})
        assert out["started"] == ["vector-2", "vector-3"]
        names = {e["name"] for e in emu.control.get("/v1/fleet")["engines"]}
        assert names == {"vector-1", "vector-2", "vector-3"}
        zero = emu.control.post("/v1/fleet/vector/scale", {"replicas": 0})
        assert sorted(zero["stopped"]) == ["vector-1", "vector-2", "vector-3"]
        assert emu.control.get("/v1/fleet")["engines"] == []
        emu.control.post("/v1/fleet/vector/scale", {"replicas": 1})
        url = emu.engine_url("vector-1")
        assert digest(url) == state  # scale-to-zero lost nothing: the new pod restored it
        assert json.loads(call("GET", f"{url}/status")[1])["boot"]["how"] == "restored"
        with pytest.raises(Exception) as info:
            emu.control.post("/v1/fleet/vectr/scale", {"replicas": 1})
        assert "unknown kind" in str(info.value)
    finally:
        assert emu.stop() == 0


def test_down_then_up_keeps_the_store_and_leaves_nothing_running(tmp_path):
    config = FAST + "[fleet.markdown]\nreplicas = 1\n"
    emu = start_emulator(tmp_path, config)
    url = emu.engine_url("markdown-1")
    write_records(url, "markdown", 15)
    state = digest(url)
    ports = [int(u.rsplit(":", 1)[1]) for u in (emu.ready["control"], emu.ready["function"],
                                                emu.ready["s3_endpoint"], url)]
    children = list(emu.ready["children"])
    down = subprocess.run(WKP_EMU + ["down", "--state-dir", str(emu.state_dir)], capture_output=True,
                          text=True, env=child_env(), cwd=REPO, timeout=30)
    assert down.returncode == 0, down.stderr
    assert emu.popen.wait(60) == 0
    assert not any(psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE
                   for p in children)
    assert all(port_free(p) for p in ports)
    assert (emu.state_dir / "store").is_dir()
    again = start_emulator(tmp_path, config, state_dir=emu.state_dir)
    try:
        assert again.control.get("/v1/store")["objects"] > 0
        assert digest(again.engine_url("markdown-1")) == state
    finally:
        assert again.stop() == 0


def test_fresh_starts_with_an_empty_store(tmp_path):
    emu = start_emulator(tmp_path, FAST + "[fleet.keyvalue]\nreplicas = 1\n")
    write_records(emu.engine_url("keyvalue-1"), "keyvalue", 5)
    emu.control.post(f"/v1/engines/keyvalue-1/recycle")  # pushes on the way down
    assert emu.stop() == 0
    fresh = start_emulator(tmp_path, FAST + "[fleet.keyvalue]\nreplicas = 1\n", "--fresh",
                           state_dir=emu.state_dir)
    try:
        assert fresh.control.get("/v1/store")["objects"] == 0
        assert digest(fresh.engine_url("keyvalue-1"))["count"] == 0
    finally:
        assert fresh.stop() == 0


def test_exec_runs_the_command_with_the_endpoints_and_returns_its_code(tmp_path):
    cfg = tmp_path / "wkp-emu.toml"
    cfg.write_text(FAST + "[fleet.graph]\nreplicas = 1\n")
    script = ("import os, sys, urllib.request\n"
              "urllib.request.urlopen(os.environ['WKP_EMU_CONTROL'] + '/health').read()\n"
              "sys.exit(7 if os.environ['WEFTKIT_PERSIST_ENDPOINT'].startswith('http') else 1)\n")
    out = subprocess.run(WKP_EMU + ["exec", "--config", str(cfg), "--state-dir", str(tmp_path / "s"),
                                    "--", sys.executable, "-c", script],
                         capture_output=True, text=True, env=child_env(), cwd=REPO, timeout=120)
    assert out.returncode == 7, out.stderr
    assert not (tmp_path / "s" / "emulator.json").exists()


def test_a_crashed_supervisor_leaves_no_engine_behind(tmp_path):
    emu = start_emulator(tmp_path, FAST + "[fleet.inmemory]\nreplicas = 2\n")
    children = list(emu.ready["children"])
    emu.stop(signal.SIGKILL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(psutil.pid_exists(p) for p in children):
        time.sleep(0.1)
    alive = [p for p in children if psutil.pid_exists(p)
             and psutil.Process(p).status() != psutil.STATUS_ZOMBIE]
    assert alive == []
    # the next `up` in the same state dir cleans the stale state file and starts
    again = start_emulator(tmp_path, FAST + "[fleet.inmemory]\nreplicas = 1\n", state_dir=emu.state_dir)
    assert again.stop() == 0


def test_bad_config_names_the_key_and_line(tmp_path):
    cfg = tmp_path / "wkp-emu.toml"
    cfg.write_text("[fleet.vector]\nreplicas = -2\n")
    out = subprocess.run(WKP_EMU + ["up", "--config", str(cfg)], capture_output=True, text=True,
                         env=child_env(), cwd=REPO, timeout=30)
    assert out.returncode == 2
    assert "line 2" in out.stderr and "fleet.vector.replicas" in out.stderr


def test_verbs_without_an_emulator_say_so(tmp_path):
    out = subprocess.run(WKP_EMU + ["status", "--state-dir", str(tmp_path)], capture_output=True,
                         text=True, env=child_env(), cwd=REPO, timeout=30)
    assert out.returncode == 3 and "no emulator running" in out.stderr


def test_engines_register_with_discovery_and_leave_when_scaled_away(tmp_path):
    config = FAST.replace("[discovery]\nenabled = false\n", "[discovery]\nudp_port = 0\napi_port = 0\n")
    emu = start_emulator(tmp_path, config + "[fleet.document]\nreplicas = 2\n")
    try:
        def members():
            return {m["node_id"]: m["status"] for m in emu.control.get("/v1/discovery")["members"]}
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not {"document-1", "document-2"} <= set(members()):
            time.sleep(0.2)
        assert members()["document-1"] == "alive" and members()["document-2"] == "alive"
        emu.control.post("/v1/fleet/document/scale", {"replicas": 1})
        assert members().get("document-2") == "left"  # SIGTERM: the engine left before exiting
        assert emu.control.get("/health")["services"]["discovery"] == "running"
    finally:
        assert emu.stop() == 0


def test_cli_verbs_against_a_running_emulator(tmp_path):
    emu = start_emulator(tmp_path, FAST + "[fleet.keyvalue]\nreplicas = 2\n")

    def cli(*args, check=True):
        out = subprocess.run(WKP_EMU + [*args, "--state-dir", str(emu.state_dir)], capture_output=True,
                             text=True, env=child_env(), cwd=REPO, timeout=120)
        assert not check or out.returncode == 0, out.stderr
        return out
    try:
        table = cli("status").stdout
        assert "keyvalue-1" in table and "keyvalue-2" in table and "LSN/DURABLE" in table
        assert {e["name"] for e in json.loads(cli("status", "--json").stdout)["engines"]} == {
            "keyvalue-1", "keyvalue-2"}
        write_records(emu.engine_url("keyvalue-1"), "keyvalue", 5)
        rolled = json.loads(cli("recycle", "keyvalue", "--rolling", "--json").stdout)["engines"]
        assert [e["name"] for e in rolled] == ["keyvalue-2", "keyvalue-1"]  # highest ordinal first
        assert digest(emu.engine_url("keyvalue-1"))["count"] == 5
        assert "serving" in cli("logs", "keyvalue-1").stdout
        assert '"kind": "engine.recycled"' in cli("logs").stdout  # the event log
        assert "no faults set" in cli("fault", "list").stdout
        cli("fault", "set", "target=function", "kind=latency", "ms=5")
        assert "latency" in cli("fault", "list").stdout
        assert json.loads(cli("fault", "clear", "--json").stdout)["function"] == 1
        metrics = call("GET", emu.ready["control"] + "/metrics")[1].decode()
        assert 'wkp_engines{kind="keyvalue",state="running"} 2' in metrics
        assert "wkp_function_requests_total" in metrics
        assert json.loads(cli("reset", "--json").stdout)["removed"] > 0
        assert emu.control.get("/v1/store")["objects"] == 0
        bad = cli("kill", "keyvalue-9", check=False)
        assert bad.returncode == 1 and "unknown engine" in bad.stderr
        bad = cli("scale", "keyvalue", "-1", check=False)
        assert bad.returncode == 2 and "replicas" in bad.stderr
        killed = json.loads(cli("kill", "keyvalue-2", "--json").stdout)
        assert killed["state"] == "killed"
        cli("down")
        assert emu.popen.wait(60) == 0
    finally:
        emu.stop()
