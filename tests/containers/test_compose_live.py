"""Compose files from `wkp-emu compose`, brought up with real containers (docker-compose 1.29).

Seed 001's promise, per mode: serverless state survives `down -v` (restored
from the function and its store), disabled state does not, container mode's
sidecars carry it through the central store. `down` leaves only the file's
named volumes and `down -v` nothing (no container, network or volume,
anonymous volumes included, found by the containers' mounts). Every project is
removed afterwards, also when a test fails; a failed `up` quotes each
container's state, restarts, health log and last output. Where docker cannot
run, the tests skip and say why.
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import random
import shutil
import socket
import struct
import subprocess
import tempfile
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
    """The engine image under a tag of this module's own: another run on this machine (another
    checkout, a test that makes the image stale) may rebuild or retag wkp-emu/engine:<version>
    while these projects start containers, which would then run other code than the first."""
    tool = shutil.which("docker-compose")
    if not tool:
        pytest.skip("docker-compose is not installed (apt-get install docker-compose; scripts/docker-setup.sh)")
    from emulator.containers.image import ImageError, docker_client, ensure_image
    try:
        client = docker_client()
    except ImageError as exc:
        pytest.skip(f"docker cannot run here: {exc}")
    try:
        built = client.images.get(ensure_image(client))
    except ImageError as exc:
        pytest.skip(f"the engine image cannot be built here: {exc}")
    own = f"wkp-emu/engine-test:compose-{random.randrange(16**8):08x}"
    built.tag(*own.split(":"))
    yield own
    client.images.remove(own)  # the tag; the image too if nothing else names it any more


@pytest.fixture(scope="module")
def one_run_at_a_time():
    """Runs of these tests from other checkouts on this machine wait for each other: the projects
    use the host's network, and two runs could pick the same ports (one's `down` frees them for
    the other's pick just before its own `up` rebinds them)."""
    with open(Path(tempfile.gettempdir()) / "wkp-emu-compose-live.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


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

    def compose(self, *args: str, timeout: float = 420) -> str:
        """docker-compose ARGS, which must succeed. `up` waits for the store and the function to be
        healthy: bounded by their healthchecks (start period, then retries), minutes at worst."""
        try:
            out = subprocess.run(["docker-compose", "-p", self.name, *args], cwd=self.dir, capture_output=True,
                                 text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"docker-compose {' '.join(args)} still running after {timeout}s:\n"
                                 f"{self.diagnosis()}") from None
        finally:
            self._note_mounts()
        assert out.returncode == 0, (f"docker-compose {' '.join(args)} failed:\n{out.stdout}\n{out.stderr}\n"
                                     f"{self.diagnosis()}")
        return out.stdout

    def diagnosis(self) -> str:
        """Each container's state, restarts, health log and last output: why a service did not
        come up says itself in the failure's message."""
        import docker
        flt = {"label": f"{PROJECT_LABEL}={self.name}"}
        lines = []
        for c in docker.from_env().containers.list(all=True, filters=flt):
            state = c.attrs["State"]
            health = state.get("Health") or {}
            lines.append(f"--- {c.name}: {state.get('Status')} exit {state.get('ExitCode')} "
                         f"restarts {c.attrs.get('RestartCount')} started {state.get('StartedAt')} "
                         f"health {health.get('Status')} failing streak {health.get('FailingStreak')}")
            for probe in (health.get("Log") or [])[-5:]:
                lines.append(f"    probe {probe.get('Start')} -> {probe.get('End')} exit {probe.get('ExitCode')}: "
                             f"{(probe.get('Output') or '').strip()[:300]}")
            lines.append(c.logs(tail=20, timestamps=True).decode(errors="replace").rstrip())
        return "\n".join(lines)

    def _note_mounts(self) -> None:
        import docker
        flt = {"label": f"{PROJECT_LABEL}={self.name}"}
        for container in docker.from_env().containers.list(all=True, filters=flt):
            self.mounted.update(m["Name"] for m in container.attrs["Mounts"] if m["Type"] == "volume")

    def mounted_left(self) -> set[str]:
        """The volumes its containers mounted (named or anonymous) that still exist."""
        import docker
        return {v.name for v in docker.from_env().volumes.list()} & self.mounted

    def named_volumes(self) -> set[str]:
        """The volumes of the file's `volumes:` section, which compose creates and labels."""
        import docker
        return {v.name for v in docker.from_env().volumes.list(filters={"label": f"{PROJECT_LABEL}={self.name}"})}

    def take_down(self) -> list[str]:
        """`docker-compose down -v`, and whatever of the project it left (nothing, it should)."""
        out = subprocess.run(["docker-compose", "-p", self.name, "down", "-v", "--remove-orphans"],
                             cwd=self.dir, capture_output=True, text=True, timeout=300)
        left = self.leftovers()
        return left + ([f"down -v failed: {out.stderr[-2000:]}"] if out.returncode else [])

    def remove_everything(self) -> None:
        """Whatever `down -v` left, removed by force: the machine stays clean after a failure."""
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
        """Its containers, networks, and volumes: labelled ones, and every volume its containers
        mounted (anonymous ones carry no label: they are found by the containers' mounts)."""
        import docker
        client = docker.from_env()
        flt = {"label": f"{PROJECT_LABEL}={self.name}"}
        return ([c.name for c in client.containers.list(all=True, filters=flt)]
                + sorted(self.mounted_left() | self.named_volumes())
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


def _serving(project: Project, port: int, deadline_s: float = 240) -> dict:
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
    raise AssertionError(f"engine on port {port} not serving after {deadline_s}s ({last}):\n"
                         f"{project.diagnosis()}")


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
    """up, write, down, down -v, up: the digests before, the engines' status after.

    `down -v` in two steps, each checked: `down` (engines flush) keeps only the file's named
    volumes, no anonymous volume of an image's VOLUME (`down -v` would remove those, so alone
    it would not show them; a `down` without -v leaves them for ever); `down -v` then removes
    the named ones."""
    project.compose("up", "-d")
    for port in ports.values():
        assert _serving(project, port)["boot"]["how"] == "fresh"
    before = _write_records(ports)
    project.compose("down")
    named = project.named_volumes()
    assert named == {f"{project.name}_{name}-data" for name in ports}, named
    assert project.mounted_left() == named, f"anonymous volumes left by down: {project.mounted_left() - named}"
    project.compose("down", "-v")
    assert project.mounted_left() == set(), f"left by down -v: {project.mounted_left()}"
    project.compose("up", "-d")
    after = {name: _serving(project, port) for name, port in ports.items()}
    return {"before": before, "after": after, "ports": ports}


# Engines per mode: two kinds where the file runs a shared function (ports and subtrees per
# engine), one elsewhere; every container is a Python start, and CPU is what these tests cost.
MODES = {"serverless": "relational=1,vector=1", "disabled": "relational=1", "container": "relational=1"}


@pytest.fixture(scope="module")
def round_trips(tmp_path_factory, image, one_run_at_a_time):
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
            left = list(pool.map(Project.take_down, projects.values()))
            list(pool.map(Project.remove_everything, projects.values()))
        assert left == [[], [], []], "docker-compose down -v left these"


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
    deadline, health = time.monotonic() + 180, {}  # the engines' check runs every 5 s; slower under load
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
