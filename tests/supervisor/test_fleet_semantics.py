"""Fleet semantics that must match the platforms, end to end on a real `wkp-emu up`.

Scale to zero and back restores (Fargate) or boots local (PVC); a SIGKILLed
pod is replaced like a crashed task and loses exactly its unpushed tail; a
slot keeps its address; a fleet whose engines fail at boot says so.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from tests.support.emulator import FAST, start_emulator
from tests.support.processes import REPO, WKP_EMU
from tests.support.processes import test_env as child_env

from .test_up import call, digest, write_records

pytestmark = pytest.mark.slow
# relational pushes only when asked (POST /admin/push) or at SIGTERM: the test decides what is unpushed
MANUAL = FAST + '[fleet.relational]\nreplicas = 1\n[fleet.relational.env]\nWEFTKIT_PERSIST_SCHEDULE = "0 0 1 1 *"\n'
BOGUS = FAST.replace("[defaults.env]\n", '[defaults.env]\nWEFTKIT_PERSIST_COMPRESSION = "bogus"\n')


def engine_status(url: str) -> dict:
    return json.loads(call("GET", f"{url}/status")[1])


def wait_until(predicate, timeout: float = 30, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"{what} not met within {timeout}s")


def running_pod(emu, name: str, generation: int) -> dict:
    def ready():
        pod = emu.control.get(f"/v1/engines/{name}")
        return pod if pod["state"] == "running" and pod["generation"] >= generation else None
    return wait_until(ready, what=f"{name} generation {generation} running")


def push_and_wait(url: str) -> None:
    call("POST", f"{url}/admin/push")
    wait_until(lambda: (s := engine_status(url))["durable_lsn"] == s["lsn"], what="push acknowledged")


@pytest.mark.parametrize("volumes,boot", [("empty", "restored"), ("keep", "local")])
def test_scale_to_zero_and_back_follows_the_platform(tmp_path, volumes, boot):
    config = MANUAL.replace("[platform]\n", f'[platform]\nrecycle_volume = "{volumes}"\n')
    emu = start_emulator(tmp_path, config)
    try:
        url = emu.engine_url("relational-1")
        write_records(url, "relational", 12)
        state = digest(url)
        assert emu.control.post("/v1/fleet/relational/scale", {"replicas": 0})["stopped"] == ["relational-1"]
        assert emu.control.post("/v1/fleet/relational/scale", {"replicas": 1})["started"] == ["relational-1"]
        url = emu.engine_url("relational-1")
        status = engine_status(url)
        assert status["boot"]["how"] == boot  # SIGTERM flushed all 12, so both ways lose nothing
        assert digest(url) == state
        assert status["recovery"]["lost_count"] == 0 and status["recovery"]["witnessed_writes"] == 12
    finally:
        assert emu.stop() == 0


def test_a_killed_pod_is_replaced_restores_and_loses_exactly_its_unpushed_tail(tmp_path):
    emu = start_emulator(tmp_path, MANUAL)
    try:
        first = emu.control.get("/v1/engines/relational-1")
        assert first["witness"] == str(emu.state_dir / "witness" / "relational-1")
        url = emu.engine_url("relational-1")
        write_records(url, "relational", 8)
        push_and_wait(url)
        acknowledged = digest(url)
        write_records(url, "relational", 13, seed=2)  # k0..k7 overwritten, k8..k12 new: lsn 9..21
        killed = emu.control.post("/v1/engines/relational-1/kill")
        assert killed["state"] == "killed" and killed["port"] == first["port"]
        seen = len(emu.events)
        assert emu.wait_event("engine.killed", "relational-1")["data"]["replaced_in_s"] == 1.0
        pod = running_pod(emu, "relational-1", 2)
        emu.wait_event("engine.recycled", "relational-1", after=seen)
        assert pod["port"] == first["port"]  # the slot's address survives the kill
        recovery = engine_status(url)["recovery"]
        assert recovery["boot"] == "restored" and recovery["recovered_lsn"] == 8
        assert [w["lsn"] for w in recovery["lost"]] == list(range(9, 22))
        assert recovery["lost_acknowledged"] == 0 and recovery["mismatched"] == []
        assert digest(url) == acknowledged
        recycled = emu.control.post("/v1/engines/relational-1/recycle")
        assert recycled["port"] == first["port"] and recycled["generation"] == 3
    finally:
        assert emu.stop() == 0


def test_a_pod_that_dies_on_its_own_is_a_crash_the_service_replaces(tmp_path):
    emu = start_emulator(tmp_path, MANUAL)
    try:
        first = emu.control.get("/v1/engines/relational-1")
        url = emu.engine_url("relational-1")
        write_records(url, "relational", 4)
        push_and_wait(url)
        os.kill(first["pid"], signal.SIGSEGV)  # not through the control API: nobody expected it
        crashed = emu.wait_event("engine.crashed", "relational-1")["data"]
        assert crashed["exit_code"] == -signal.SIGSEGV and crashed["replaced_in_s"] == 1.0
        pod = running_pod(emu, "relational-1", 2)
        assert pod["port"] == first["port"] and pod["pid"] != first["pid"]
        assert engine_status(url)["recovery"]["boot"] == "restored" and digest(url)["count"] == 4
    finally:
        assert emu.stop() == 0


def test_with_kept_volumes_a_killed_pod_comes_back_on_its_disk_and_loses_nothing(tmp_path):
    emu = start_emulator(tmp_path, MANUAL.replace("[platform]\n", '[platform]\nrecycle_volume = "keep"\n'))
    try:
        url = emu.engine_url("relational-1")
        write_records(url, "relational", 6)  # never pushed
        state = digest(url)
        emu.control.post("/v1/engines/relational-1/kill")
        running_pod(emu, "relational-1", 2)
        recovery = engine_status(url)["recovery"]
        assert recovery["boot"] == "local" and recovery["lost_count"] == 0
        assert digest(url) == state
    finally:
        assert emu.stop() == 0


def test_scale_sees_a_killed_slot_as_live_and_scaling_in_stops_it(tmp_path):
    emu = start_emulator(tmp_path, MANUAL)
    try:
        emu.control.post("/v1/engines/relational-1/kill")
        # being replaced: one replica is what we have, nothing to start or stop
        assert emu.control.post("/v1/fleet/relational/scale", {"replicas": 1}) == {
            "kind": "relational", "replicas": 1, "started": [], "stopped": []}
        running_pod(emu, "relational-1", 2)
        emu.control.post("/v1/engines/relational-1/kill")
        out = emu.control.post("/v1/fleet/relational/scale", {"replicas": 0})
        assert out["stopped"] == ["relational-1"]
        assert emu.control.get("/v1/fleet")["engines"] == []  # no lingering killed entry
        back = emu.control.post("/v1/fleet/relational/scale", {"replicas": 1})
        assert back["started"] == ["relational-1"]
        running_pod(emu, "relational-1", 3)
        assert engine_status(emu.engine_url("relational-1"))["boot"]["how"] == "fresh"  # nothing was pushed
        assert [e["name"] for e in emu.control.get("/v1/fleet")["engines"]] == ["relational-1"]
        assert emu.control.get("/health")["status"] == "running"
    finally:
        assert emu.stop() == 0


def test_reset_forgets_the_witnesses(tmp_path):
    emu = start_emulator(tmp_path, MANUAL)
    try:
        write_records(emu.engine_url("relational-1"), "relational", 3)
        witness = emu.state_dir / "witness" / "relational-1" / "witness.jsonl"
        assert witness.exists()
        emu.control.post("/v1/reset")
        assert not witness.parent.exists()
    finally:
        assert emu.stop() == 0


def test_a_pod_that_cannot_restore_is_retried_with_back_off_until_the_store_is_back(tmp_path):
    emu = start_emulator(tmp_path, MANUAL + 'WEFTKIT_PERSIST_MAX_RETRIES = "1"\n')
    try:
        emu.control.post("/v1/faults", {"target": "store", "kind": "outage"})
        seen = len(emu.events)
        assert emu.control.post("/v1/engines/relational-1/recycle")["state"] == "failed"
        first = emu.wait_event("engine.failed", "relational-1", after=seen)
        assert first["data"]["exit_code"] == 4 and first["data"]["retry_in_s"] == 1.0
        assert "cannot restore" in first["data"]["message"]  # the engine's own words
        second = emu.wait_event("engine.failed", "relational-1", after=emu.events.index(first) + 1)
        assert second["data"]["retry_in_s"] == 2.0  # doubling, as a platform throttles a failing task
        health = emu.control.get("/health")
        assert health["status"] == "degraded" and "relational-1" in health["failures"]
        emu.control.delete("/v1/faults")
        running_pod(emu, "relational-1", 4)
        health = emu.control.get("/health")
        assert health["status"] == "running" and health["failures"] == {}
    finally:
        assert emu.stop() == 0


def test_engines_failing_at_boot_make_the_stack_degraded_and_say_why(tmp_path):
    emu = start_emulator(tmp_path, BOGUS + "[fleet.keyvalue]\nreplicas = 1\n")
    try:
        ready = emu.wait_event("emulator.ready")["data"]
        assert ready["health"] == "degraded"
        assert "WEFTKIT_PERSIST_COMPRESSION" in ready["failures"]["keyvalue-1"]
        health = emu.control.get("/health")
        assert health["status"] == "degraded" and health["engines"] == {"keyvalue-1": "failed"}
        assert "bogus" in health["failures"]["keyvalue-1"]
        out = subprocess.run(WKP_EMU + ["status", "--state-dir", str(emu.state_dir)],
                             capture_output=True, text=True, env=child_env(), cwd=REPO, timeout=60)
        assert out.returncode == 1 and "degraded" in out.stdout
        assert "keyvalue-1: " in out.stdout and "WEFTKIT_PERSIST_COMPRESSION" in out.stdout
        wait_until(lambda: "keyvalue-1 failed" in (tmp_path / "up.stderr").read_text(),
                   what="up names the failed engine")
        assert "WEFTKIT_PERSIST_COMPRESSION" in (tmp_path / "up.stderr").read_text()
    finally:
        assert emu.stop() == 0


def test_exec_refuses_to_run_against_a_degraded_stack(tmp_path):
    cfg = tmp_path / "wkp-emu.toml"
    cfg.write_text(BOGUS + "[fleet.graph]\nreplicas = 1\n")
    marker = tmp_path / "ran"
    out = subprocess.run(WKP_EMU + ["exec", "--config", str(cfg), "--state-dir", str(tmp_path / "s"),
                                    "--", sys.executable, "-c", f"open({str(marker)!r}, 'w')"],
                         capture_output=True, text=True, env=child_env(), cwd=REPO, timeout=120)
    assert out.returncode == 1, out.stderr
    assert "graph-1 failed" in out.stderr and "WEFTKIT_PERSIST_COMPRESSION" in out.stderr
    assert "degraded" in out.stderr and not marker.exists()
    assert not (tmp_path / "s" / "emulator.json").exists()


def hold_port(port: int) -> socket.socket:
    """Listen on `port` as some other program would (TIME_WAIT remnants of the pod aside)."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen()
    return s


def test_a_slot_waits_briefly_for_its_port_and_moves_only_if_it_stays_taken(tmp_path):
    emu = start_emulator(tmp_path, MANUAL)
    try:
        port = emu.control.get("/v1/engines/relational-1")["port"]
        emu.control.post("/v1/engines/relational-1/kill")
        squatter = hold_port(port)  # taken across the 1 s replacement delay, then let go
        seen = len(emu.events)
        emu.wait_event("engine.starting", "relational-1", after=seen)
        squatter.close()
        assert running_pod(emu, "relational-1", 2)["port"] == port
        emu.control.post("/v1/engines/relational-1/kill")
        with hold_port(port):  # taken for good: after its wait the slot moves
            moved = running_pod(emu, "relational-1", 3)["port"]
        assert moved != port
        assert emu.control.post("/v1/engines/relational-1/recycle")["port"] == moved
    finally:
        assert emu.stop() == 0
