"""The Cloud Functions entry point under the real functions-framework: what it
answers when it is not configured (a 500 naming the variable, no traceback),
and that its settings are read with errors naming the variable."""
from __future__ import annotations

import importlib.util
import json
import os
import sys
import urllib.error
import urllib.request

import pytest

from emulator.platforms.gcf_host.standin import SOURCE, TARGET
from emulator.platforms.standin_process import free_port, spawn, wait_port
from wkp_functions.settings import SetupError

from .standins import REPO


def test_unconfigured_function_answers_500_naming_the_variable(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WKP_", "WEFTKIT_", "STORAGE_"))}
    env["PYTHONPATH"] = str(REPO)
    child = spawn("functions-framework", [sys.executable, "-m", "functions_framework", "--target", TARGET,
                                          "--source", str(SOURCE), "--host", "127.0.0.1", "--port", str(port)],
                  tmp_path / "ff.log", env=env, cwd=REPO)
    try:
        wait_port(child, "127.0.0.1", port, 60)
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=10)
        assert err.value.code == 500
        assert json.loads(err.value.read()) == {
            "error": "Misconfigured", "reason": "WKP_BUCKET is not set: the GCS bucket"}
    finally:
        child.stop()
    assert "Traceback" not in (tmp_path / "ff.log").read_text()


@pytest.mark.parametrize("env, says", [
    ({"WKP_BUCKET": "b"}, "WEFTKIT_PERSIST_SECRET is not set"),
    ({"WKP_BUCKET": "b", "WEFTKIT_PERSIST_SECRET": "s", "WKP_MAX_PAYLOAD": "lots"},
     "WKP_MAX_PAYLOAD='lots' is not a number"),
    ({"WKP_BUCKET": "b", "WEFTKIT_PERSIST_SECRET": "s", "WKP_TAKEOVER_LEASE_S": "0"},
     "WKP_TAKEOVER_LEASE_S='0' must be positive"),
])
def test_settings_errors_name_the_variable(env, says):
    spec = importlib.util.spec_from_file_location("wkp_gcf_main", SOURCE)
    gcf_main = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gcf_main)
    with pytest.raises(SetupError, match=says):
        gcf_main.core_from_env({**env, "STORAGE_EMULATOR_HOST": "http://127.0.0.1:9"})
