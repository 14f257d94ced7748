"""`wkp-emu image build`: the engine image from local files only, cached, and what it runs.

The image runs the fake engine and, in container mode, its persistence sidecar
against a real S3 store (moto on loopback). Where no docker daemon answers, the
live tests skip and say why (pytest -rs).
"""
from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.request

import pytest

from emulator.containers.image import LABEL_RECIPE, LABEL_SOURCE, RECIPE, reusable, source_digest
from tests.support.processes import REPO, WKP_EMU
from tests.support.processes import test_env as child_env

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("docker")]


def build(*args: str) -> dict:
    done = subprocess.run(WKP_EMU + ["image", "build", "--json", *args], cwd=REPO, env=child_env(),
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_source_digest_follows_every_packaged_file(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\nversion = "1"\n'
                                             '[tool.setuptools.packages.find]\ninclude = ["emulator*"]\n')
    (tmp_path / "emulator").mkdir()
    (tmp_path / "emulator" / "a.py").write_text("A = 1\n")
    first = source_digest(tmp_path)
    (tmp_path / "emulator" / "__pycache__").mkdir()
    (tmp_path / "emulator" / "__pycache__" / "a.cpython-311.pyc").write_bytes(b"\0")
    assert source_digest(tmp_path) == first  # compiled files are not source
    (tmp_path / "emulator" / "a.py").write_text("A = 2\n")
    assert source_digest(tmp_path) != first


def test_a_cached_layer_is_reused_only_if_this_recipe_built_it_and_it_declares_no_volume():
    labels = {"wkp-emu.image": "engine", LABEL_RECIPE: RECIPE}
    assert reusable({"Labels": labels, "Volumes": None})
    assert reusable({"Labels": labels, "Volumes": {}})
    # an image declaring a volume gives every container an anonymous volume nothing removes
    assert not reusable({"Labels": labels, "Volumes": {"/dist": {}}})
    assert not reusable({"Labels": {"wkp-emu.image": "engine"}, "Volumes": None})  # before recipes
    assert not reusable({"Labels": {**labels, LABEL_RECIPE: "1"}, "Volumes": None})
    assert not reusable({"Labels": None, "Volumes": None})


@pytest.fixture(scope="module")
def built(client) -> dict:
    """`wkp-emu image build --json`, once for the module (a cold machine builds every layer)."""
    return build()


def test_the_second_build_reuses_every_layer_and_the_image_carries_its_source(client, built):
    assert built["tag"].startswith("wkp-emu/engine:") and [s["name"] for s in built["steps"]] == [
        "rootfs", "deps", "engine"]
    before = source_digest()
    second = build()
    steps = {s["name"]: s for s in second["steps"]}
    assert steps["rootfs"]["cached"] and steps["deps"]["cached"]
    if source_digest() == before:  # nobody edited the tree meanwhile
        assert steps["engine"]["cached"] and second["seconds"] == 0
    image = client.images.get(second["tag"])
    assert image.labels["wkp-emu.image"] == "engine" and image.labels[LABEL_SOURCE]
    assert image.attrs["Config"]["Entrypoint"] == ["wkp-emu"]


def test_the_built_layers_declare_no_volume_so_a_container_gets_none(client, built):
    # The build mounts its wheels into the build containers; as container volumes they were
    # committed as VOLUME /wheels and /dist, and every engine container left two anonymous volumes.
    steps = {s["name"]: s["tag"] for s in built["steps"]}
    for name in ("deps", "engine"):
        config = client.images.get(steps[name]).attrs["Config"]
        assert not config.get("Volumes"), f"{steps[name]} declares {config['Volumes']}"
        assert config["Labels"][LABEL_RECIPE] == RECIPE
    container = client.containers.create(steps["engine"], ["true"], labels={"wkp-emu.test": "image"})
    try:
        assert container.attrs["Mounts"] == []
    finally:
        container.remove(force=True, v=True)


def test_an_engine_layer_of_an_older_recipe_is_built_again(client, built):
    # What a machine holds after the recipe that committed the wheels' mount as a VOLUME.
    tag = built["tag"]
    old = client.containers.create(tag)  # its config is committed: keep the image's entrypoint and command
    try:
        old.commit(*tag.split(":"), changes=["VOLUME /dist", f"LABEL {LABEL_RECIPE}=1"])
    finally:
        old.remove(force=True, v=True)
    assert client.images.get(tag).attrs["Config"]["Volumes"] == {"/dist": {}}
    again = {s["name"]: s for s in build()["steps"]}
    assert not again["engine"]["cached"] and again["deps"]["cached"]
    config = client.images.get(tag).attrs["Config"]
    assert not config.get("Volumes") and config["Labels"][LABEL_RECIPE] == RECIPE


def test_the_image_runs_an_engine_with_its_container_mode_sidecar(client, built):
    from emulator.store.moto_server import EmbeddedS3
    tag = built["tag"]
    store = EmbeddedS3("127.0.0.1", 0).start()
    container = None
    try:
        container = client.containers.run(
            tag, ["engine", "--kind", "keyvalue", "--data-dir", "/var/lib/wkp-emu", "--port", "0"],
            environment={"WEFTKIT_PERSIST_MODE": "container",
                         "WEFTKIT_PERSIST_STORE_ENDPOINT": store.endpoint,
                         "WEFTKIT_PERSIST_SCHEDULE": "0 0 1 1 *", "WEFTKIT_PERSIST_INSTANCE_ID": "kv-img"},
            network_mode="host", init=True, detach=True, user=f"{os.getuid()}:{os.getgid()}",
            labels={"wkp-emu.test": "image"})
        ready = None
        deadline = time.monotonic() + 60
        while ready is None and time.monotonic() < deadline:
            container.reload()
            assert container.status in ("created", "running"), container.logs().decode()[-2000:]
            out = container.logs(stdout=True, stderr=False).decode()
            if "\n" in out:
                ready = json.loads(out.splitlines()[0])
            else:
                time.sleep(0.2)
        assert ready and ready["mode"] == "container" and ready["sidecar"]["store"] == store.endpoint
        url = f"http://127.0.0.1:{ready['port']}"
        req = urllib.request.Request(f"{url}/records/k1", data=b"v1", method="PUT")
        assert json.loads(urllib.request.urlopen(req, timeout=10).read())["lsn"] == 1
        urllib.request.urlopen(urllib.request.Request(f"{url}/admin/push", method="POST"), timeout=10)
        deadline = time.monotonic() + 30
        while json.loads(urllib.request.urlopen(f"{url}/status", timeout=10).read())["durable_lsn"] != 1:
            assert time.monotonic() < deadline, "the sidecar never acknowledged the push"
            time.sleep(0.2)
        container.stop(timeout=30)  # SIGTERM: final flush through the sidecar, which then stops
        assert container.wait()["StatusCode"] == 0, container.logs().decode()[-2000:]
    finally:
        if container is not None:
            container.remove(force=True, v=True)
        store.stop()


def test_the_image_carries_every_package_pyproject_builds():
    # A package missing from the image's wheel broke every container at the first import of the CLI.
    import tomllib
    from emulator.containers.image import source_packages, source_root
    root = source_root()
    with (root / "pyproject.toml").open("rb") as f:
        include = tomllib.load(f)["tool"]["setuptools"]["packages"]["find"]["include"]
    assert set(source_packages(root)) == {p.rstrip("*") for p in include}
    assert "wkp_functions" in source_packages(root)
