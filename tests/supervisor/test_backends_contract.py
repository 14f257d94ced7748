"""One contract, two pod backends: the same end-to-end suite on processes and on docker.

Write, recycle, scale to zero and back, kill: every acknowledged write survives,
exactly the unpushed tail is lost, and `down` leaves nothing behind (no
process, no container, no volume). Docker tests skip, with the reason in the
summary (pytest -rs), where no docker daemon can be reached.
"""
from __future__ import annotations

import signal
from pathlib import Path

import psutil
import pytest

from tests.support.emulator import start_emulator

from .test_fleet_semantics import MANUAL, digest, engine_status, push_and_wait, running_pod, wait_until
from .test_up import call, write_records

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("docker")]
LABEL_STATE_DIR, LABEL_SLOT = "wkp-emu.state-dir", "wkp-emu.slot"


@pytest.fixture(scope="module")
def docker_image():
    """The engine image, built once for the module (or the reason docker cannot run here)."""
    try:
        from emulator.containers.image import ImageError, docker_client, ensure_image
        client = docker_client()
    except ImportError as exc:
        pytest.skip(f"docker backend tests: the docker SDK is not installed ({exc})")
    except ImageError as exc:
        pytest.skip(f"docker backend tests: {exc}")
    tag = ensure_image(client)  # a build failure with a daemon present fails, it does not skip
    return client, tag


@pytest.fixture(params=["process", "docker"])
def backend(request, monkeypatch):
    if request.param == "docker":
        client, tag = request.getfixturevalue("docker_image")
        # up uses this image as it is: the source may change under a long suite
        monkeypatch.setenv("WKP_EMU_ENGINE_IMAGE", tag)
    return request.param


def containers(state_dir: Path, slot: str | None = None) -> list:
    import docker
    labels = [f"{LABEL_STATE_DIR}={state_dir.resolve()}"] + ([f"{LABEL_SLOT}={slot}"] if slot else [])
    return docker.from_env().containers.list(all=True, filters={"label": labels})


def volumes(state_dir: Path) -> list:
    import docker
    return docker.from_env().volumes.list(filters={"label": f"{LABEL_STATE_DIR}={state_dir.resolve()}"})


def refused(url: str) -> bool:
    try:
        call("GET", f"{url}/status")
    except OSError:
        return True
    return False


def test_write_recycle_scale_to_zero_and_back_kill_lose_nothing_acknowledged_and_leave_nothing(
        tmp_path, backend):
    emu = start_emulator(tmp_path, MANUAL, "--backend", backend)
    pids = []
    try:
        first = emu.control.get("/v1/engines/relational-1")
        pids.append(first["pid"])
        url = emu.engine_url("relational-1")
        if backend == "docker":
            assert first["volume"].endswith("-relational-1") and "/" not in first["volume"]
            assert [c.status for c in containers(emu.state_dir, "relational-1")] == ["running"]

        write_records(url, "relational", 10)  # lsn 1..10
        state = digest(url)
        recycled = emu.control.post("/v1/engines/relational-1/recycle")
        pids.append(recycled["pid"])
        assert recycled["generation"] == 2 and recycled["port"] == first["port"]
        assert engine_status(url)["boot"]["how"] == "restored"  # empty volume: from the store
        assert digest(url) == state

        stopped = emu.control.post("/v1/fleet/relational/scale", {"replicas": 0})
        assert stopped["stopped"] == ["relational-1"]
        assert refused(url)
        if backend == "docker":
            wait_until(lambda: not containers(emu.state_dir, "relational-1"), what="its container removed")
        assert emu.control.post("/v1/fleet/relational/scale", {"replicas": 1})["started"] == ["relational-1"]
        back = running_pod(emu, "relational-1", 3)
        pids.append(back["pid"])
        url = emu.engine_url("relational-1")
        assert engine_status(url)["boot"]["how"] == "restored" and digest(url) == state

        push_and_wait(url)
        write_records(url, "relational", 5, seed=2)  # lsn 11..15, never pushed
        killed = emu.control.post("/v1/engines/relational-1/kill")
        assert killed["state"] == "killed" and killed["exit_code"] == -signal.SIGKILL
        pids.append(running_pod(emu, "relational-1", 4)["pid"])
        recovery = engine_status(url)["recovery"]
        assert recovery["boot"] == "restored" and recovery["recovered_lsn"] == 10
        assert [w["lsn"] for w in recovery["lost"]] == list(range(11, 16))
        assert recovery["lost_acknowledged"] == 0 and recovery["mismatched"] == []
        assert digest(url) == state
        witness = emu.state_dir / "witness" / "relational-1" / "witness.jsonl"
        assert witness.is_file() and witness.stat().st_size > 0  # written outside the volume
    finally:
        assert emu.stop() == 0
    assert not [pid for pid in pids if pid and psutil.pid_exists(pid)
                and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE]
    if backend == "docker":
        assert containers(emu.state_dir) == [] and volumes(emu.state_dir) == []


def test_docker_a_supervisor_killed_with_sigkill_leaves_containers_the_next_up_reaps(
        tmp_path, docker_image, monkeypatch):
    # (processes die with their supervisor, PR_SET_PDEATHSIG: the process backend has nothing to reap)
    monkeypatch.setenv("WKP_EMU_ENGINE_IMAGE", docker_image[1])
    kept = MANUAL.replace("[platform]\n", '[platform]\nrecycle_volume = "keep"\n')
    emu = start_emulator(tmp_path, kept, "--backend", "docker")
    try:
        url = emu.engine_url("relational-1")
        write_records(url, "relational", 6)  # never pushed: only the kept volume has them
        state = digest(url)
        emu.stop(signal.SIGKILL)
        orphans = containers(emu.state_dir)
        assert [c.status for c in orphans] == ["running"]  # a container outlives its supervisor

        again = start_emulator(tmp_path, kept, "--backend", "docker", state_dir=emu.state_dir)
        try:
            now = containers(emu.state_dir)
            assert len(now) == 1 and now[0].id != orphans[0].id  # the orphan was reaped
            url = again.engine_url("relational-1")
            assert engine_status(url)["boot"]["how"] == "local"  # on its kept volume: nothing lost
            assert digest(url) == state
        finally:
            assert again.stop() == 0
        assert containers(emu.state_dir) == []
        # recycle_volume = "keep": the slot's volume survives down, as a PVC does
        assert [v.name for v in volumes(emu.state_dir)] == [volume_name(emu.state_dir, "relational-1")]
    finally:
        if emu.popen.poll() is None:
            emu.stop(signal.SIGKILL)
        for c in containers(emu.state_dir):
            c.remove(force=True)
        for v in volumes(emu.state_dir):
            v.remove(force=True)


def volume_name(state_dir: Path, slot: str) -> str:
    from emulator.supervisor.backends.docker import resource_prefix
    return f"{resource_prefix(state_dir.resolve())}-{slot}"


def test_without_a_docker_daemon_up_and_image_build_say_so_without_a_traceback(tmp_path):
    import subprocess

    from tests.support.emulator import FAST
    from tests.support.processes import REPO, WKP_EMU
    from tests.support.processes import test_env as child_env
    env = child_env(DOCKER_HOST=f"unix://{tmp_path}/no-docker.sock")
    (tmp_path / "wkp-emu.toml").write_text(FAST)
    up = subprocess.run(WKP_EMU + ["up", "--headless", "--backend", "docker", "--config",
                                   str(tmp_path / "wkp-emu.toml"), "--state-dir", str(tmp_path / "state")],
                        cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert up.returncode == 2 and "Traceback" not in up.stderr
    assert "the docker backend: cannot reach the docker daemon" in up.stderr
    build = subprocess.run(WKP_EMU + ["image", "build"], cwd=REPO, env=env, capture_output=True, text=True,
                           timeout=60)
    assert build.returncode == 1 and "Traceback" not in build.stderr
    assert "wkp-emu image: cannot reach the docker daemon" in build.stderr


def test_docker_exec_runs_the_command_against_containers_and_removes_them(tmp_path, docker_image, monkeypatch):
    import subprocess

    from tests.support.processes import REPO, WKP_EMU
    from tests.support.processes import test_env as child_env
    monkeypatch.setenv("WKP_EMU_ENGINE_IMAGE", docker_image[1])
    (tmp_path / "wkp-emu.toml").write_text(MANUAL)
    state = tmp_path / "state"
    probe = ("import json, os, sys, urllib.request as r; "
             "c = os.environ['WKP_EMU_CONTROL']; e = json.load(r.urlopen(c + '/v1/engines/relational-1')); "
             "s = json.load(r.urlopen('http://127.0.0.1:%d/status' % e['port'])); "
             "sys.exit(0 if e['volume'].endswith('-relational-1') and s['mode'] == 'serverless' else 7)")
    done = subprocess.run(WKP_EMU + ["exec", "--backend", "docker", "--config", str(tmp_path / "wkp-emu.toml"),
                                     "--state-dir", str(state), "--", "python3", "-c", probe],
                          cwd=REPO, env=child_env(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert containers(state) == [] and volumes(state) == []


@pytest.mark.timeout(900)  # a rebuild of the top layer: seconds on a quiet machine, minutes on a loaded one
def test_docker_up_rebuilds_a_stale_image_and_says_how_long_it_took(tmp_path, docker_image, monkeypatch):
    from emulator.containers.image import LABEL_SOURCE
    client, tag = docker_image
    monkeypatch.delenv("WKP_EMU_ENGINE_IMAGE", raising=False)
    # The image as if built from other source: the same layers, a different source label. The
    # container is never started and keeps the image's entrypoint and command, so the tag stays
    # runnable for anything else using it until the rebuild.
    stale = client.containers.create(tag)
    try:
        stale.commit(*tag.split(":"), changes=[f"LABEL {LABEL_SOURCE}=stale"])
    finally:
        stale.remove(force=True)
    emu = start_emulator(tmp_path, MANUAL, "--backend", "docker", timeout=600)
    try:
        err = (tmp_path / "up.stderr").read_text()
        assert f"wkp-emu: building {tag} (the project's wheel)" in err
        assert f"wkp-emu: built the engine image {tag} in " in err
        assert client.images.get(tag).labels[LABEL_SOURCE] not in ("stale", "")
        assert engine_status(emu.engine_url("relational-1"))["kind"] == "relational"
    finally:
        assert emu.stop() == 0
