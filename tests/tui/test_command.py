"""`wkp-emu tui` outside its happy path: no emulator (exit 3), no terminal (exit 2)."""
from __future__ import annotations

import json
import subprocess

from tests.support import processes


def run(*args):
    return subprocess.run(processes.WKP_EMU + ["tui", *args], capture_output=True, text=True,
                          env=processes.test_env(), cwd=processes.REPO, stdin=subprocess.DEVNULL, timeout=60)


def test_no_emulator_is_exit_3_naming_the_state_dir(tmp_path):
    done = run("--state-dir", str(tmp_path / "nothing"))
    assert done.returncode == 3 and "no emulator running in" in done.stderr


def test_no_terminal_is_exit_2_pointing_to_the_verbs(tmp_path):
    (tmp_path / "emulator.json").write_text(json.dumps({"control": "http://127.0.0.1:9"}))
    done = run("--state-dir", str(tmp_path))
    assert done.returncode == 2 and "needs a terminal" in done.stderr
