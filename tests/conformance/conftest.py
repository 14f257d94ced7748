"""Fixtures: our function and the broken one, each a real process on 127.0.0.1,
and a way to run `wkp-emu conformance` as a user would (a subprocess)."""
from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
_VENV_CLI = REPO / ".venv" / "bin" / "wkp-emu"
WKP_EMU = [str(_VENV_CLI)] if _VENV_CLI.exists() else [sys.executable, "-m", "emulator.cli"]
SECRET = "conformance-test-secret"
MAX_PAYLOAD = 1024 * 1024


def clean_env() -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "WEFTKIT_"))}
    env["PYTHONPATH"] = str(REPO)
    return env


@dataclass
class Served:
    popen: subprocess.Popen
    ready: dict

    @property
    def endpoint(self) -> str:
        return self.ready["endpoint"]

    def stop(self) -> int:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
        try:
            return self.popen.wait(20)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            return self.popen.wait(5)


def serve(cmd: list[str], stderr_path: Path, timeout: float = 60) -> Served:
    """Start `cmd` and wait for the JSON line it prints when ready."""
    popen = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=stderr_path.open("wb"),
                             env=clean_env(), cwd=REPO)
    selector = selectors.DefaultSelector()
    selector.register(popen.stdout, selectors.EVENT_READ)
    line, deadline = b"", time.monotonic() + timeout
    while not line.endswith(b"\n") and time.monotonic() < deadline and popen.poll() is None:
        if selector.select(timeout=0.2):
            line += popen.stdout.read1(4096)
    if not line.endswith(b"\n"):
        popen.kill()
        popen.wait()
        raise RuntimeError(f"{cmd} never became ready:\n{stderr_path.read_text()}")
    return Served(popen, json.loads(line.splitlines()[0]))


@pytest.fixture(scope="module")
def our_function(tmp_path_factory):
    served = serve(WKP_EMU + ["function", "--host", "127.0.0.1", "--port", "0", "--secret", SECRET,
                              "--max-payload", str(MAX_PAYLOAD)],
                   tmp_path_factory.mktemp("fn") / "function.stderr")
    yield served
    assert served.stop() == 0


@pytest.fixture(scope="module")
def our_async_function(tmp_path_factory):
    """--async: answers 202 once a push is verified, stores in the background."""
    served = serve(WKP_EMU + ["function", "--host", "127.0.0.1", "--port", "0", "--secret", SECRET,
                              "--max-payload", str(MAX_PAYLOAD), "--async"],
                   tmp_path_factory.mktemp("fn-async") / "function.stderr")
    yield served
    assert served.stop() == 0


@pytest.fixture(scope="module")
def broken_function(tmp_path_factory):
    served = serve([sys.executable, "-m", "tests.conformance.broken_function",
                    "--max-payload", str(MAX_PAYLOAD)],
                   tmp_path_factory.mktemp("broken") / "broken.stderr")
    yield served
    served.stop()


def run_kit(endpoint: str, *args: str, secret: str = SECRET, timeout: float = 120):
    """`wkp-emu conformance` as a subprocess; the secret goes through the environment."""
    env = clean_env()
    env["WEFTKIT_PERSIST_SECRET"] = secret
    return subprocess.run(WKP_EMU + ["conformance", "--endpoint", endpoint,
                                     "--max-payload", str(MAX_PAYLOAD), *args],
                          capture_output=True, text=True, env=env, cwd=REPO, timeout=timeout)
