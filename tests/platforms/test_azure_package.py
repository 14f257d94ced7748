"""`wkp-emu package --target azure`: the bundle as written imports only its own
copies of the core, its function_app.py exposes the app, and our v2 host serves
the WKP-1 contract from the bundle's directory, on Azurite."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from emulator.platforms.azure_host.standin import connection_string, function_env
from emulator.platforms.standin_process import spawn, wait_json_line

from .standins import (MAX_PAYLOAD, REPO, SECRET, WKP_EMU, azurite_endpoint, fresh_name,  # noqa: F401
                       run_kit)


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    out = tmp_path_factory.mktemp("pkg") / "fn"
    done = subprocess.run(WKP_EMU + ["package", "--target", "azure", "-o", str(out)], capture_output=True,
                          text=True, cwd=REPO, timeout=60)
    assert done.returncode == 0, done.stderr
    return out


def test_the_bundle_has_the_app_host_json_requirements_and_readme(bundle):
    assert (bundle / "function_app.py").is_file()
    assert json.loads((bundle / "host.json").read_text())["extensions"]["http"]["routePrefix"] == ""
    assert "azure-functions" in (bundle / "requirements.txt").read_text()
    assert "func azure functionapp publish" in (bundle / "README.md").read_text()
    assert ".venv" in (bundle / ".funcignore").read_text()


def test_the_bundle_imports_its_own_copies(bundle):
    probe = ("import json, function_app as f, wkp_functions.core as c, emulator.protocol.codec as k;"
             "print(json.dumps([[g.get_function_name() for g in f.app.get_functions()], c.__file__, k.__file__]))")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=bundle,
                          env=env, timeout=60)
    names, core, codec = json.loads(done.stdout)
    assert names == ["wkp"] and core.startswith(str(bundle)) and codec.startswith(str(bundle))


def test_the_bundle_serves_the_contract(bundle, azurite_endpoint, tmp_path):
    from wkp_functions.stores.blob import BlobStore
    container = fresh_name("pkg")
    BlobStore.from_connection_string(connection_string(azurite_endpoint), container).ensure_container()
    env = function_env(SECRET, container, azurite_endpoint, MAX_PAYLOAD)
    env["PYTHONPATH"] = f"{REPO}"  # the host is wkp-emu's; the app and its imports come from the bundle
    child = spawn("the Azure host", [sys.executable, "-m", "emulator.platforms.azure_host", "--app-dir",
                                     str(bundle)], tmp_path / "host.log", json_line=True, cwd=bundle, env=env)
    try:
        endpoint = wait_json_line(child, 60)["endpoint"]
        report = run_kit(endpoint, "--only", "persist.full.,persist.delta.,restore.latest,health")
        bad = {c["id"]: c["reason"] for c in report["clauses"] if c["outcome"] != "PASS"}
        assert bad == {} and report["summary"]["passed"] >= 4
    finally:
        child.stop()
