"""The installed command in a real pseudo-terminal (tmux): `wkp-emu up` opens the fleet
view, a recycle key press shows the recycle, and quitting (q, then y) stops the
emulator and leaves no process and no port behind; `wkp-emu tui` attaches to a
running emulator and quitting it leaves the emulator running."""
from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from emulator.api.client import ControlClient
from tests.support.emulator import FAST
from tests.support.processes import REPO, test_env as env_for_children

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")
INSTALLED = Path(sys.executable).with_name("wkp-emu")  # the console script pip installed


class Pane:
    def __init__(self, socket_name: str):
        self.socket = socket_name

    def tmux(self, *args: str) -> str:
        return subprocess.run(["tmux", "-L", self.socket, "-f", "/dev/null", *args], capture_output=True, text=True,
                              timeout=30).stdout

    def text(self, target: str = "wkp") -> str:
        return self.tmux("capture-pane", "-p", "-t", target)

    def wait_for(self, needle: str, timeout: float = 90, target: str = "wkp") -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.text(target)
            if needle in text:
                return text
            time.sleep(0.2)
        raise AssertionError(f"{needle!r} never showed; the pane:\n{self.text(target)}")


def port_free(port: int) -> bool:
    """Nobody listens on it (TIME_WAIT remnants do not count: servers bind with SO_REUSEADDR)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def test_up_opens_the_view_recycles_on_a_key_and_quits_clean_and_tui_attaches_beside_it(tmp_path):
    config, state = tmp_path / "wkp-emu.toml", tmp_path / "state"
    config.write_text(FAST)
    pane = Pane(f"wkp-tui-{tmp_path.name}")
    env = " ".join(f"{k}={v!r}" for k, v in env_for_children().items() if k in ("PATH", "PYTHONPATH", "HOME"))
    command = f"cd {REPO} && env -u COLUMNS -u LINES {env} TERM=xterm-256color {INSTALLED} up --config {config} --state-dir {state}; " \
              f"echo UP-EXITED $?; sleep 300"
    pane.tmux("new-session", "-d", "-s", "wkp", "-x", "160", "-y", "40", command)
    pane.tmux("resize-window", "-t", "wkp", "-x", "160", "-y", "40")
    try:
        pane.wait_for("filestore-1   filestore   running")
        info = json.loads((state / "emulator.json").read_text())
        control = ControlClient(info["control"])
        # The view gives the default fleet a gentle workload (headless runs stay quiet).
        assert control.get("/v1/engines/relational-1/workload")["rate"] > 0
        pids = [info["pid"], *info["children"]]
        ports = [int(info["control"].rsplit(":", 1)[1]), int(info["function"].rsplit(":", 1)[1])]
        ports += [e["port"] for e in control.get("/v1/fleet")["engines"]]
        attach_and_quit(pane, state, env)  # the emulator keeps running: the steps below use it
        pane.tmux("send-keys", "-t", "wkp", "/")  # filter down to the row the key acts on
        pane.wait_for("filter by name")
        pane.tmux("send-keys", "-t", "wkp", "filestore-1", "Enter")
        pane.wait_for("filter 'filestore-1'")
        pane.tmux("send-keys", "-t", "wkp", "r")
        pane.wait_for("recycled filestore-1")
        pane.tmux("send-keys", "-t", "wkp", "q")
        pane.wait_for("Stop the emulator?")
        pane.tmux("send-keys", "-t", "wkp", "y")
        assert "UP-EXITED 0" in pane.wait_for("UP-EXITED", timeout=120)
        alive = [p for p in pids if psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE]
        assert not alive, f"still running: {alive}"
        assert all(port_free(p) for p in ports), [p for p in ports if not port_free(p)]
        assert not (state / "emulator.json").exists()
    finally:
        pane.tmux("kill-server")



def attach_and_quit(pane: Pane, state: Path, env: str) -> None:
    """`wkp-emu tui --state-dir DIR` beside the view `up` opened, on the same emulator:
    it shows the fleet, a filter typed at once and the detail work on real keys, and
    `q` quits this view only, with no question."""
    command = f"cd {REPO} && env -u COLUMNS -u LINES {env} TERM=xterm-256color {INSTALLED} tui " \
              f"--state-dir {state}; echo TUI-EXITED $?; sleep 300"
    pane.tmux("new-session", "-d", "-s", "att", "-x", "160", "-y", "40", command)
    pane.tmux("resize-window", "-t", "att", "-x", "160", "-y", "40")
    pane.wait_for("vector-2      vector      running", target="att")
    pane.tmux("send-keys", "-t", "att", "/", "vector-2")  # typed at once, as a paste would come
    pane.wait_for("/vector-2▏  1 of ", target="att")
    pane.tmux("send-keys", "-t", "att", "Enter")
    pane.wait_for("filter 'vector-2'", target="att")
    pane.tmux("send-keys", "-t", "att", "Enter")  # the detail of the one row shown
    pane.wait_for("push latency", target="att")
    pane.tmux("send-keys", "-t", "att", "Escape")
    pane.wait_for("filter 'vector-2'", target="att")
    pane.tmux("send-keys", "-t", "att", "q")
    assert "TUI-EXITED 0" in pane.wait_for("TUI-EXITED", timeout=30, target="att")
