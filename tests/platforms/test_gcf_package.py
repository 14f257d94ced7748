"""`wkp-emu package --target gcf`: the bundle as written imports only its own
copies of the core, and serves the WKP-1 contract under functions-framework
from its own directory, on the GCS emulator."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from emulator.platforms.gcf_host.standin import function_env
from emulator.platforms.standin_process import free_port, spawn, wait_port

from .standins import MAX_PAYLOAD, REPO, SECRET, WKP_EMU, fresh_name, gcs_endpoint, run_kit  # noqa: F401


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    out = tmp_path_factory.mktemp("pkg") / "fn"
    done = subprocess.run(WKP_EMU + ["package", "--target", "gcf", "-o", str(out)], capture_output=True,
                          text=True, cwd=REPO, timeout=60)
    assert done.returncode == 0, done.stderr
    assert f"wrote {out}/" in done.stdout
    return out


def test_the_bundle_has_main_requirements_and_readme(bundle):
    assert (bundle / "main.py").is_file() and (bundle / "wkp_functions" / "gcf" / "main.py").is_file()
    assert "functions-framework" in (bundle / "requirements.txt").read_text()
    readme = (bundle / "README.md").read_text()
    assert "gcloud functions deploy" in readme and "--gen2" in readme and "--trigger-http" in readme


def test_the_bundle_imports_its_own_copies(bundle):
    probe = ("import json, main, wkp_functions.core as c, emulator.protocol.codec as k;"
             "print(json.dumps([main.wkp.__name__, c.__file__, k.__file__]))")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=bundle,
                          env=env, timeout=60)
    name, core, codec = json.loads(done.stdout)
    assert name == "wkp" and core.startswith(str(bundle)) and codec.startswith(str(bundle))


def test_the_bundle_serves_the_contract(bundle, gcs_endpoint, tmp_path):
    port = free_port()
    bucket = fresh_name("pkg")
    from wkp_functions.stores.gcs import GCSStore
    GCSStore.from_env(bucket, env={"STORAGE_EMULATOR_HOST": gcs_endpoint}).ensure_bucket()
    env = function_env(SECRET, bucket, gcs_endpoint, MAX_PAYLOAD)
    env["PYTHONPATH"] = str(bundle)
    child = spawn("functions-framework", [sys.executable, "-m", "functions_framework", "--target", "wkp",
                                          "--source", str(bundle / "main.py"), "--host", "127.0.0.1",
                                          "--port", str(port)], tmp_path / "ff.log", env=env, cwd=bundle)
    try:
        wait_port(child, "127.0.0.1", port, 60)
        report = run_kit(f"http://127.0.0.1:{port}", "--only", "persist.full.,persist.delta.,restore.latest,health")
        bad = {c["id"]: c["reason"] for c in report["clauses"] if c["outcome"] != "PASS"}
        assert bad == {} and report["summary"]["passed"] >= 4
    finally:
        child.stop()
