"""Running the emulator's child processes: start, wait for the ready line, stop.

Every child (engine, discovery) prints one JSON line on stdout when ready; the
rest of its stdout and all its stderr go to its log file. Children are tied to
the supervisor's life with PR_SET_PDEATHSIG on Linux, so a supervisor killed
with SIGKILL leaves no orphan holding a port; and a state file lists their
pids so that the next `up` can clean up after a crash of the whole machine
session.
"""
from __future__ import annotations

import asyncio
import ctypes
import json
import os
import signal
import sys
from dataclasses import dataclass, field
from pathlib import Path

WKP_EMU = [sys.executable, "-m", "emulator.cli"]
_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:  # runs in the child between fork and exec
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except OSError:
        pass


# The preexec_fn that ties a child to its parent (its death signal), where the OS has one:
# used for engines, discovery, the embedded store and a scenario's stack.
TIE_TO_PARENT = die_with_parent if sys.platform == "linux" else None


class ChildFailed(RuntimeError):
    """A child that never became ready: its exit status and its own last words."""

    def __init__(self, message: str, *, exit_code: int | None = None, output: str = ""):
        super().__init__(message)
        self.exit_code, self.output = exit_code, output


@dataclass
class Child:
    name: str
    process: asyncio.subprocess.Process
    ready: dict
    log_path: Path
    _drain: asyncio.Task | None = field(default=None, repr=False)

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def running(self) -> bool:
        return self.process.returncode is None

    async def wait(self) -> int:
        code = await self.process.wait()
        if self._drain:
            await asyncio.gather(self._drain, return_exceptions=True)
        return code

    async def stop(self, grace_s: float) -> int:
        """SIGTERM, then SIGKILL after `grace_s`: what a platform does to a pod."""
        if self.running:
            self.process.send_signal(signal.SIGTERM)
        try:
            return await asyncio.wait_for(self.wait(), grace_s)
        except asyncio.TimeoutError:
            return await self.kill()

    async def kill(self) -> int:
        if self.running:
            self.process.kill()
        return await self.wait()


async def _copy(stream: asyncio.StreamReader, path: Path) -> None:
    with path.open("ab") as log:
        while chunk := await stream.read(65536):
            log.write(chunk)
            log.flush()


async def start_child(name: str, args: list[str], *, env: dict, log_path: Path,
                      timeout_s: float = 60.0, cwd: str | None = None) -> Child:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    offset = log_path.stat().st_size if log_path.exists() else 0  # this run's output starts here
    with log_path.open("ab") as err:
        process = await asyncio.create_subprocess_exec(
            *WKP_EMU, *args, stdout=asyncio.subprocess.PIPE, stderr=err, env=env, cwd=cwd,
            preexec_fn=TIE_TO_PARENT)
    try:
        line = await asyncio.wait_for(process.stdout.readline(), timeout_s)
    except asyncio.TimeoutError:
        process.kill()
        code = await process.wait()
        raise ChildFailed(f"{name} was not ready within {timeout_s:.0f}s; see {log_path}",
                          exit_code=code, output=last_words(log_path, offset)) from None
    if not line:
        code = await process.wait()
        words = last_words(log_path, offset)
        raise ChildFailed(f"{name} exited with {code} before it was ready: {words}",
                          exit_code=code, output=words)
    try:
        ready = json.loads(line)
    except json.JSONDecodeError:
        process.kill()
        await process.wait()
        raise ChildFailed(f"{name} printed {line[:200]!r} instead of its JSON ready line") from None
    drain = asyncio.create_task(_copy(process.stdout, log_path))
    return Child(name, process, ready, log_path, drain)


def last_words(path: Path, offset: int = 0, lines: int = 2) -> str:
    """The last lines a child wrote to its log since `offset`: usually its own error message."""
    try:
        with path.open("rb") as f:
            f.seek(offset)
            text = f.read().decode(errors="replace")
    except OSError:
        return ""
    kept = [line.strip() for line in text.splitlines() if line.strip()]
    return " | ".join(kept[-lines:])


def child_env(extra: dict[str, str]) -> dict[str, str]:
    """The supervisor's environment minus anything that would leak into a pod."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("WEFTKIT_", "AWS_"))}
    repo = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = repo + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.update(extra)
    return env
