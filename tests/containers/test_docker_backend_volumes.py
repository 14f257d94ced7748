"""The docker backend leaves no volume behind: `up`, recycle, `down`, and every volume its
containers mounted is gone, anonymous ones included.

An engine image that declares a VOLUME gives each container an anonymous volume that
nothing names; the engine image declares none, and the backend removes a container with
its anonymous volumes anyway, for an image named by WKP_EMU_ENGINE_IMAGE that does.
Where no docker daemon answers, the tests skip and say why.
"""
from __future__ import annotations

import contextlib
import random
from pathlib import Path

import pytest

from tests.support.emulator import FAST, start_emulator
from tests.supervisor.test_fleet_semantics import wait_until

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600), pytest.mark.xdist_group("docker")]
LABEL_STATE_DIR, LABEL_SLOT = "wkp-emu.state-dir", "wkp-emu.slot"
DATA_DIR = "/var/lib/wkp-emu"
# One engine, never pushed on a schedule: the test drives the pod's life itself.
ONE_ENGINE = FAST + ('[fleet.relational]\nreplicas = 1\n'
                     '[fleet.relational.env]\nWEFTKIT_PERSIST_SCHEDULE = "0 0 1 1 *"\n')


@pytest.fixture(scope="module")
def engine_image(client) -> str:
    from emulator.containers.image import ensure_image
    return ensure_image(client)  # with a daemon, a build failure fails: it does not skip


@pytest.fixture
def image_with_a_volume(client, engine_image):
    """The engine image plus `VOLUME /scratch`: what an image of the old build recipe was like."""
    tag = f"wkp-emu/engine-test:volume-{random.randrange(16**8):08x}"
    base = client.containers.create(engine_image)  # its config is committed: the image's own entrypoint
    try:
        base.commit(*tag.split(":"), changes=["VOLUME /scratch"])
    finally:
        base.remove(force=True, v=True)
    yield tag
    client.images.remove(tag, force=True)


def labelled(client, state_dir: Path) -> tuple[list, list]:
    selector = {"label": f"{LABEL_STATE_DIR}={state_dir.resolve()}"}
    return client.containers.list(all=True, filters=selector), client.volumes.list(filters=selector)


def volume_mounts(container) -> dict[str, str]:
    """Where each volume (named or anonymous) is mounted in `container`: name -> path."""
    container.reload()
    return {m["Name"]: m["Destination"] for m in container.attrs["Mounts"] if m["Type"] == "volume"}


def existing(client, names) -> set[str]:
    return {v.name for v in client.volumes.list()} & set(names)


def run_up_recycle_down(client, tmp_path: Path, image: str, monkeypatch) -> tuple[str, list[dict], set[str]]:
    """up, recycle relational-1, down: the slot's volume name, the volume mounts of both
    generations' containers, and those of their volumes that still exist after down."""
    import docker

    from emulator.supervisor.backends.docker import resource_prefix
    monkeypatch.setenv("WKP_EMU_ENGINE_IMAGE", image)
    state_dir = tmp_path / "state"
    slot_volume = f"{resource_prefix(state_dir.resolve())}-relational-1"
    seen: list[dict] = []
    emu = None
    try:
        emu = start_emulator(tmp_path, ONE_ENGINE, "--backend", "docker", state_dir=state_dir)
        [first] = labelled(client, emu.state_dir)[0]
        seen.append(volume_mounts(first))
        assert emu.control.post("/v1/engines/relational-1/recycle")["generation"] == 2

        def second_alone():  # the first generation's container is removed once its exit status is read
            now = labelled(client, emu.state_dir)[0]
            return now[0] if len(now) == 1 and now[0].id != first.id else None
        seen.append(volume_mounts(wait_until(second_alone, 60, "the second generation's container, alone")))
        dropped = set(seen[0]) - set(seen[1])  # the slot's volume is made again: the same name
        wait_until(lambda: not existing(client, dropped), 60,
                   f"the first generation's volumes {sorted(dropped)} removed with its container")
    finally:
        code = emu.stop() if emu is not None else None  # (a supervisor that never got ready was killed)
        survivors = existing(client, {name for mounts in seen for name in mounts})
        containers, volumes = labelled(client, state_dir)
        for c in containers:  # whatever happened, the machine is left clean
            c.remove(force=True, v=True)
        for name in survivors | {v.name for v in volumes}:
            with contextlib.suppress(docker.errors.NotFound):  # gone with its container just now
                client.volumes.get(name).remove(force=True)
    assert code == 0
    assert containers == [] and volumes == [], "down left labelled containers or volumes"
    return slot_volume, seen, survivors


def test_engine_containers_mount_their_slot_volume_only_and_down_leaves_no_volume(
        client, engine_image, tmp_path, monkeypatch):
    slot_volume, seen, survivors = run_up_recycle_down(client, tmp_path, engine_image, monkeypatch)
    assert seen == [{slot_volume: DATA_DIR}] * 2, "an engine container mounted an anonymous volume"
    assert survivors == set(), f"left after down: {survivors}"


def test_a_container_goes_with_its_anonymous_volumes_even_if_its_image_declares_one(
        client, image_with_a_volume, tmp_path, monkeypatch):
    slot_volume, seen, survivors = run_up_recycle_down(client, tmp_path, image_with_a_volume, monkeypatch)
    for mounts in seen:  # the slot's volume, and the image's VOLUME as an anonymous one per container
        assert mounts.pop(slot_volume) == DATA_DIR and list(mounts.values()) == ["/scratch"], seen
    assert survivors == set(), f"left after down: {survivors}"
