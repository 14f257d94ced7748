"""Compose files from `wkp-emu compose`, brought up with real containers (docker-compose 1.29).

Seed 001's promise, per mode: serverless state survives `down -v` (restored
from the function and its store), disabled state does not, container mode's
sidecars carry it through the central store. Every project is removed
afterwards (containers, volumes, networks), also when a test fails. Where
docker cannot run, the tests skip and say why.
"""
from __future__ import annotations

import contextlib
import json
import random
import shutil
import socket
import struct
import subprocess
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from emulator.cli import main

# The first use on a machine may build the engine image (minutes: a Debian root filesystem,
# the dependencies); the round trips themselves take a minute or two on a loaded machine.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(900), pytest.mark.xdist_group("docker")]
SERVING_PHASES_NOT = ("booting", "restoring", "restore_wait", "exited")
PROJECT_LABEL = "com.docker.compose.project"


# ------------------------------------------------------------------ docker, or a reason to skip


@pytest.fixture(scope="module")
def image():
    tool = shutil.which("docker-compose")
    if not tool:
        pytest.skip("docker-compose is not installed (apt-get install docker-compose; scripts/docker-setup.sh)")
    from emulator.containers.image import ImageError, docker_client, ensure_image
    try:
        client = docker_client()
    except ImageError as exc:
        pytest.skip(f"docker cannot run here: {exc}")
    try:
        return ensure_image(client)
    except ImageError as exc:
        pytest.skip(f"the engine image cannot be built here: {exc}")


def _free_port_base(width: int) -> int:
    """A base whose `width` ports are all free on loopback (other suites run beside this one)."""
    for _ in range(200):
        base = random.randrange(20000, 32768 - width)  # below the kernel's ephemeral range: other tests bind port 0
        socks = []
        try:
            for port in range(base, base + width):
                s = socket.socket()
                socks.append(s)
                s.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError("no free port range on loopback")


class Project:
    """One compose project in a directory of its own, removed whatever happens."""

    def __init__(self, directory: Path, name: str):
        self.dir, self.name = directory, name
        self.mounted: set[str] = set()  # every volume its containers used, anonymous ones included

    def compose(self, *args: str, timeout: float = 180) -> str:
        try:
            out = subprocess.run(["docker-compose", "-p", self.name, *args], cwd=self.dir, capture_output=True,
                                 text=True, timeout=timeout)
        finally:
            self._note_mounts()
        assert out.returncode == 0, f"docker-compose {' '.join(args)} failed:\n{out.stdout}\n{out.stderr}"
        return out.stdout

    def _note_mounts(self) -> None:
        import docker
        flt = {"label": f"{PROJECT_LABEL}={self.name}"}
        for container in docker.from_env().containers.list(all=True, filters=flt):
            self.mounted.update(m["Name"] for m in container.attrs["Mounts"] if m["Type"] == "volume")

    def logs(self) -> str:
        out = subprocess.run(["docker-compose", "-p", self.name, "logs", "--no-color", "--tail", "30"],
                             cwd=self.dir, capture_output=True, text=True, timeout=60)
        return out.stdout[-6000:]

    def remove_everything(self) -> None:
        subprocess.run(["docker-compose", "-p", self.name, "down", "-v", "--remove-orphans", "-t", "5"],
                       cwd=self.dir, capture_output=True, timeout=180)
        import docker
        client = docker.from_env()
        flt = {"label": f"{PROJECT_LABEL}={self.name}"}
        self._note_mounts()
        for container in client.containers.list(all=True, filters=flt):
            container.remove(force=True, v=True)
        for name in self.mounted:
            with contextlib.suppress(docker.errors.NotFound):
                client.volumes.get(name).remove(force=True)
        for volume in client.volumes.list(filters=flt):
            volume.remove(force=True)
        for network in client.networks.list(filters=flt):
            network.remove()

    def health(self) -> dict[str, str]:
        """Each container's health as docker reports it (healthy, starting, unhealthy)."""
        import docker
        flt = {"label": f"{PROJECT_LABEL}={self.name}"}
        return {c.labels["com.docker.compose.service"]: c.attrs["State"].get("Health", {}).get("Status", "none")
                for c in docker.from_env().containers.list(filters=flt)}

    def leftovers(self) -> list[str]:
        import docker
        client = docker.from_env()
        flt = {"label": f"{PROJECT_LABEL}={self.name}"}
        volumes = {v.name for v in client.volumes.list()}
        return ([c.name for c in client.containers.list(all=True, filters=flt)]
                + sorted(volumes & self.mounted) + [v.name for v in client.volumes.list(filters=flt)]
                + [n.name for n in client.networks.list(filters=flt)])


def _write_file(project: Project, mode: str, engines: str, base: int) -> dict:
    """The file for `engines`; the data API port of each engine, by service name."""
    args = ["compose", "--mode", mode, "--engines", engines, "--port-base", str(base),
            "--image", project.image, "-o", str(project.dir / "docker-compose.yml")]
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("WEFTKIT_PERSIST_SECRET", raising=False)
        assert main(args) == 0
    return {f"{kind}-1": base + 10 + 2 * i for i, kind in enumerate(k.split("=")[0] for k in engines.split(","))}


# ------------------------------------------------------------------ the engines' data API


def _get(port: int, path: str, timeout: float = 5):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout) as r:
        return r.status, r.read()


def _put(port: int, key: str, body: bytes) -> dict:
    req = urllib.request.Request(f"http://127.0.0.1:{port}/records/{key}", data=body, method="PUT")
    with urllib.request.urlopen(req, timeout=5) as r:
        return json.loads(r.read())


def _serving(project: Project, port: int, deadline_s: float = 90) -> dict:
    """The engine's /status once it serves (restored or fresh)."""
    deadline, last = time.monotonic() + deadline_s, None
    while time.monotonic() < deadline:
        try:
            status = json.loads(_get(port, "/status")[1])
            if status.get("phase") not in SERVING_PHASES_NOT:
                return status
            last = status.get("phase")
        except (OSError, ValueError) as exc:
            last = exc
        time.sleep(0.2)
    raise AssertionError(f"engine on port {port} not serving after {deadline_s}s ({last}); logs:\n"
                         f"{project.logs()}")


def _record(port: int, key: str):
    try:
        return _get(port, f"/records/{key}")[1]
    except urllib.error.HTTPError as exc:
        return exc.code


ROWS = {f"row{i}": json.dumps({"id": i, "name": f"n{i}"}).encode() for i in range(1, 6)}
VECTORS = {f"vec{i}": struct.pack("4f", i, i + 1, i + 2, i + 3) for i in range(1, 4)}


def _write_records(ports: dict) -> dict:
    for key, value in ROWS.items():
        _put(ports["relational-1"], key, value)
    for key, value in VECTORS.items() if "vector-1" in ports else ():
        _put(ports["vector-1"], key, value)
    return {name: json.loads(_get(port, "/digest")[1]) for name, port in ports.items()}


def _round_trip(project: Project, ports: dict) -> dict:
    """up, write, down -v, up: the digests before, the engines' status after."""
    project.compose("up", "-d")
    for port in ports.values():
        assert _serving(project, port)["boot"]["how"] == "fresh"
    before = _write_records(ports)
    project.compose("down", "-v")
    project.compose("up", "-d")
    after = {name: _serving(project, port) for name, port in ports.items()}
    return {"before": before, "after": after, "ports": ports}


# Engines per mode: two kinds where the file runs a shared function (ports and subtrees per
# engine), one elsewhere; every container is a Python start, and CPU is what these tests cost.
MODES = {"serverless": "relational=1,vector=1", "disabled": "relational=1", "container": "relational=1"}


@pytest.fixture(scope="module")
def round_trips(tmp_path_factory, image):
    """The three modes' round trips, side by side: each project waits on its own containers
    (health checks, the final flush, the store's save), so running them at once costs the
    wall time of the slowest. Every project is removed afterwards, whatever happened."""
    projects = {}
    for mode in MODES:
        p = Project(tmp_path_factory.mktemp(mode), f"wkpcompose{random.randrange(16**8):08x}")
        p.image = image
        projects[mode] = p
    try:
        base = _free_port_base(30 * len(MODES))  # one range, a slice per project: no collision between them
        ports = {mode: _write_file(p, mode, MODES[mode], base + 30 * i)
                 for i, (mode, p) in enumerate(projects.items())}
        with ThreadPoolExecutor(len(MODES)) as pool:
            futures = {mode: pool.submit(_round_trip, p, ports[mode]) for mode, p in projects.items()}
            outcomes = {mode: f.exception() or f.result() for mode, f in futures.items()}
        yield {mode: (projects[mode], outcome) for mode, outcome in outcomes.items()}
    finally:
        with ThreadPoolExecutor(len(MODES)) as pool:
            list(pool.map(Project.remove_everything, projects.values()))
        assert [p.leftovers() for p in projects.values()] == [[], [], []]


def _outcome(round_trips, mode: str) -> tuple[Project, dict]:
    project, outcome = round_trips[mode]
    if isinstance(outcome, BaseException):
        raise outcome
    return project, outcome


# ------------------------------------------------------------------ the modes


def test_serverless_state_survives_down_with_volumes(round_trips):
    project, run = _outcome(round_trips, "serverless")
    before, after, ports = run["before"], run["after"], run["ports"]
    for name, port in ports.items():
        assert after[name]["boot"]["how"] == "restored", after[name]["boot"]
        assert after[name]["instance_id"] == name
        assert json.loads(_get(port, "/digest")[1]) == before[name]
    assert all(_record(ports["relational-1"], k) == v for k, v in ROWS.items())
    assert all(_record(ports["vector-1"], k) == v for k, v in VECTORS.items())
    # every healthcheck in the file works: store (loaded), function (accepting), engines (serving)
    deadline, health = time.monotonic() + 60, {}
    while time.monotonic() < deadline:
        health = project.health()
        if health and set(health.values()) == {"healthy"}:
            break
        time.sleep(0.5)
    assert health == {"store": "healthy", "function": "healthy", "relational-1": "healthy",
                      "vector-1": "healthy"}
    # the store kept the pushes in its directory beside the file, outside the volumes down -v removed
    kept = project.dir / "wkp-emu-store" / "store" / "weftkit" / "default"
    assert (kept / "relational" / "relational-1").is_dir() and (kept / "vector" / "vector-1").is_dir()


def test_disabled_state_is_gone_after_down_with_volumes(round_trips):
    project, run = _outcome(round_trips, "disabled")
    before, after, ports = run["before"], run["after"], run["ports"]
    assert before["relational-1"]["count"] == len(ROWS)
    for name, port in ports.items():
        assert after[name]["boot"]["how"] == "fresh" and after[name]["mode"] == "disabled"
        assert json.loads(_get(port, "/digest")[1])["count"] == 0
    assert _record(ports["relational-1"], "row1") == 404
    assert not (project.dir / "wkp-emu-store").exists() and not (project.dir / "wkp-emu.env").exists()


def test_container_mode_sidecars_carry_state_through_the_central_store(round_trips):
    project, run = _outcome(round_trips, "container")
    before, after, ports = run["before"], run["after"], run["ports"]
    for name, port in ports.items():
        assert after[name]["mode"] == "container"
        assert after[name]["endpoint"] == f"http://127.0.0.1:{port + 1}"  # its own sidecar service
        assert after[name]["boot"]["how"] == "restored", after[name]["boot"]
        assert json.loads(_get(port, "/digest")[1]) == before[name]
    running = project.compose("ps", "--services", "--filter", "status=running").split()
    assert sorted(running) == ["relational-1", "relational-1-persistence", "store"]
