"""Running `wkp-emu up` from tests: a real supervisor process and its control API."""
from __future__ import annotations

import json
import selectors
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from emulator.api.client import ControlClient

from .processes import REPO, WKP_EMU, test_env

FAST = """
[emulator]
control_port = 0
[function]
port = 0
[store]
port = 0
[discovery]
enabled = false
[platform]
stop_grace_s = 15
[defaults.env]
WEFTKIT_PERSIST_SCHEDULE = "*/2 * * * * *"
"""


@dataclass
class Emulator:
    popen: subprocess.Popen
    ready: dict
    state_dir: Path
    events: list = field(default_factory=list)

    def wait_event(self, kind: str, subject: str | None = None, timeout: float = 30,
                   after: int = 0) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for event in self.events[after:]:
                if event.get("kind") == kind and subject in (None, event.get("subject")):
                    return event
            time.sleep(0.1)
        raise AssertionError(f"no {kind} event for {subject} within {timeout}s; "
                             f"saw {[e.get('kind') for e in self.events[-20:]]}")

    @property
    def control(self) -> ControlClient:
        return ControlClient(self.ready["control"])

    def engine_url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.control.get(f'/v1/engines/{name}')['port']}"

    def stop(self, sig=signal.SIGTERM, timeout: float = 60) -> int:
        if self.popen.poll() is None:
            self.popen.send_signal(sig)
        try:
            return self.popen.wait(timeout)
        finally:
            if self.popen.poll() is None:
                self.popen.kill()


def _drain(popen, buffer: bytes, events: list) -> None:
    """Keep reading the event lines, so the supervisor never blocks on a full pipe."""
    for line in popen.stdout:
        line = buffer + line
        buffer = b""
        try:
            events.append(json.loads(line))
        except ValueError:
            pass


def start_emulator(tmp_path: Path, config: str = FAST, *args: str, timeout: float = 90,
                   state_dir: Path | None = None) -> Emulator:
    """`wkp-emu up --headless`; waits for the emulator.ready event line."""
    state = state_dir or tmp_path / "state"
    cfg = tmp_path / "wkp-emu.toml"
    cfg.write_text(config)
    log = (tmp_path / "up.stderr").open("ab")
    popen = subprocess.Popen(WKP_EMU + ["up", "--headless", "--config", str(cfg), "--state-dir",
                                        str(state), *args],
                             stdout=subprocess.PIPE, stderr=log, env=test_env(), cwd=REPO)
    selector = selectors.DefaultSelector()
    selector.register(popen.stdout, selectors.EVENT_READ)
    deadline, events, buffer = time.monotonic() + timeout, [], b""
    while time.monotonic() < deadline and popen.poll() is None:
        if not selector.select(0.2):
            continue
        buffer += popen.stdout.read1(65536)
        *lines, buffer = buffer.split(b"\n")
        for line in lines:
            event = json.loads(line)
            events.append(event)
            if event.get("kind") == "emulator.ready":
                emulator = Emulator(popen, event["data"], state, events)
                threading.Thread(target=_drain, args=(popen, buffer, events), daemon=True).start()
                return emulator
    popen.kill()
    popen.wait()
    raise RuntimeError("wkp-emu up never became ready:\n"
                       + (tmp_path / "up.stderr").read_text()[-3000:])
