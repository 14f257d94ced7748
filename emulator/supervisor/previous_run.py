"""Cleaning up after a previous `up` in the same state dir that died without stopping."""
from __future__ import annotations

import json
import os
import signal
from pathlib import Path


class EmulatorRunning(RuntimeError):
    """Another emulator is alive in this state dir."""


def reap_previous_run(state_dir: Path, state_file: str) -> None:
    """Kill what a previous, crashed `up` left running, so no port stays taken."""
    path = state_dir / state_file
    if not path.exists():
        return
    try:
        state = json.loads(path.read_text())
    except ValueError:
        path.unlink()
        return
    if _alive(state.get("pid")):
        raise EmulatorRunning(f"an emulator is already running from {state_dir} (pid {state['pid']}, "
                              f"control {state.get('control')}); stop it with `wkp-emu down`")
    for pid in state.get("children", []):
        if _alive(pid) and _is_ours(pid):  # a reused pid may belong to someone else now
            os.kill(pid, signal.SIGKILL)
    path.unlink()


def _is_ours(pid: int) -> bool:
    import psutil
    try:
        return "emulator.cli" in " ".join(psutil.Process(pid).cmdline())
    except psutil.Error:
        return False


def _alive(pid) -> bool:
    if not isinstance(pid, int):
        return False
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True

