"""Child processes of the local platform stand-ins (the GCS emulator, Azurite,
functions-framework, the Azure host): start one, wait until it is ready (a
JSON line on stdout, or a port that accepts), stop it with SIGTERM then SIGKILL.

Output goes to a log file of the caller's choosing, never to the terminal; a
process that exits or does not become ready in time raises StandInFailed with
the log's last lines, so the user sees why.
"""
from __future__ import annotations

import json
import os
import selectors
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path


class StandInFailed(RuntimeError):
    """A stand-in process did not start; the message says which and why."""


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _tail(path: Path, lines: int = 12) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


@dataclass
class Child:
    name: str
    popen: subprocess.Popen
    log: Path

    def alive(self) -> bool:
        return self.popen.poll() is None

    def stop(self, grace_s: float = 5.0) -> int:
        if self.popen.poll() is None:
            try:
                os.killpg(self.popen.pid, signal.SIGTERM)  # its own group: workers go too
            except ProcessLookupError:
                pass
            try:
                self.popen.wait(grace_s)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(5)
        if self.popen.stdout:
            self.popen.stdout.close()
        return self.popen.returncode

    def failed(self, why: str) -> StandInFailed:
        self.stop(1.0)
        tail = _tail(self.log)
        return StandInFailed(f"{self.name} {why} (log {self.log}){':' if tail else ''}\n{tail}".rstrip())


class ChildGroup:
    """The processes of one stand-in (a store, then its functions): stopped newest first, so a function
    never outlives the store it talks to; a context manager for the tests and benches."""
    children: list

    def stop(self) -> None:
        for child in reversed(self.children):
            child.stop()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def spawn(name: str, cmd: list[str], log: Path, *, env: dict | None = None, cwd=None,
          json_line: bool = False) -> Child:
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        popen = subprocess.Popen(cmd, stdout=subprocess.PIPE if json_line else out, stderr=out,
                                 stdin=subprocess.DEVNULL, env=env, cwd=cwd, start_new_session=True)
    return Child(name, popen, log)


def wait_json_line(child: Child, timeout_s: float) -> dict:
    """The first line the child prints, as JSON (its readiness announcement)."""
    selector = selectors.DefaultSelector()
    selector.register(child.popen.stdout, selectors.EVENT_READ)
    line, deadline = b"", time.monotonic() + timeout_s
    while not line.endswith(b"\n") and time.monotonic() < deadline and child.alive():
        if selector.select(timeout=0.1):
            line += child.popen.stdout.read1(4096) or b""
    selector.close()
    if not line.endswith(b"\n"):
        raise child.failed("exited before it was ready" if not child.alive()
                           else f"was not ready within {timeout_s:.0f} s")
    try:
        return json.loads(line.splitlines()[0])
    except ValueError:
        raise child.failed(f"printed {line[:200]!r} instead of its ready line") from None


def wait_port(child: Child, host: str, port: int, timeout_s: float) -> None:
    """Until `host:port` accepts a connection."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not child.alive():
            raise child.failed("exited before it was ready")
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise child.failed(f"did not listen on {host}:{port} within {timeout_s:.0f} s")
