"""Starting the project's real processes from tests: read their one JSON ready line."""
from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
WKP_EMU = [sys.executable, "-m", "emulator.cli"]


def test_env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "WEFTKIT_"))}
    env["PYTHONPATH"] = str(REPO)
    env.update(extra)
    return env


@dataclass
class Proc:
    popen: subprocess.Popen
    ready: dict
    stderr_path: Path | None = None
    args: list = field(default_factory=list)

    def stop(self, sig=signal.SIGTERM, timeout: float = 20) -> int:
        if self.popen.poll() is None:
            self.popen.send_signal(sig)
        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            return self.popen.wait(5)

    def kill(self) -> int:
        return self.stop(signal.SIGKILL)

    def stderr(self) -> str:
        return self.stderr_path.read_text() if self.stderr_path and self.stderr_path.exists() else ""


def start(args: list[str], *, tmp_path: Path, env: dict | None = None, timeout: float = 60,
          name: str = "proc") -> Proc:
    """Start `wkp-emu ARGS...` and wait for its JSON ready line on stdout."""
    err = tmp_path / f"{name}-{time.monotonic_ns()}.stderr"
    popen = subprocess.Popen(WKP_EMU + args, stdout=subprocess.PIPE, stderr=err.open("wb"),
                             env=env or test_env(), cwd=REPO)
    selector = selectors.DefaultSelector()
    selector.register(popen.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout
    line = b""
    while time.monotonic() < deadline and not line.endswith(b"\n"):
        if popen.poll() is not None:
            break
        if selector.select(timeout=0.2):
            byte = popen.stdout.read1(4096) if hasattr(popen.stdout, "read1") else popen.stdout.read(1)
            line += byte
    if not line.endswith(b"\n"):
        popen.kill()
        popen.wait()
        raise RuntimeError(f"{args[0]} never became ready; stderr:\n{err.read_text()}")
    return Proc(popen, json.loads(line.splitlines()[0]), err, args)
