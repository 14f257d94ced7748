"""The embedded S3: one owner for the lifecycle of a moto server on loopback.

moto runs in a child process of its own (moto_process.py), not in a thread of
ours: it is pure Python, and sharing an interpreter lock with the function
halved the function's persist rate. The owner starts it (port 0 lets the OS
pick a free port, read back from the child's ready line), waits until it
answers HTTP, and stops it (SIGTERM, then SIGKILL). The child is tied to the
thread that started it with the supervisor's PR_SET_PDEATHSIG set-up
(supervisor/processes.py), so a parent killed with SIGKILL leaves no orphan
holding the port. Start it from a long-lived thread (the main thread, the
event loop's): the death signal fires when the *starting thread* ends.

The child's stdout and stderr go to a log file, not to the user's terminal:
`log_path`, or else an anonymous temporary file (unlinked at once, so that
nothing is left behind even when both processes are killed), kept open only
to quote the store's last words if it fails to start.
"""
from __future__ import annotations

import http.client
import json
import os
import selectors
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from emulator.supervisor.processes import TIE_TO_PARENT, child_env

BUCKET = "wkp-emu"
_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "wkp-emu", "AWS_SECRET_ACCESS_KEY": "wkp-emu",
                "AWS_DEFAULT_REGION": "us-east-1"}


class StoreFailed(RuntimeError):
    """The embedded store did not start; the message quotes its last words."""


class EmbeddedS3:
    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, log_path: Path | None = None,
                 ready_timeout_s: float = 60.0):
        self.host, self.port = host, port
        self.log_path = Path(log_path) if log_path else None
        self._ready_timeout_s = ready_timeout_s
        self._proc: subprocess.Popen | None = None
        self._log = None  # the open log, read back for StoreFailed
        self._log_offset = 0

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> "EmbeddedS3":
        """Start the child and return once it answers HTTP; StoreFailed otherwise."""
        self._spawn()
        try:
            deadline = time.monotonic() + self._ready_timeout_s
            ready = self._ready_line(deadline)
            self.port = int(ready["port"])
            self._until_it_answers(deadline)
        except BaseException:
            self.stop(grace_s=2)
            raise
        return self

    def _spawn(self) -> None:
        if self.log_path is None:
            self._log = tempfile.TemporaryFile(prefix="wkp-emu-s3-")
        else:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            self._log = self.log_path.open("a+b")  # readable too: for StoreFailed
        self._log_offset = self._log.seek(0, os.SEEK_END)  # this run's output starts here
        argv = [sys.executable, "-m", "emulator.store.moto_process", "--host", self.host,
                "--port", str(self.port), "--parent-pid", str(os.getpid())]
        self._proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self._log,
            env=child_env(_CREDENTIALS),
            preexec_fn=TIE_TO_PARENT)

    def _failed(self, what: str) -> StoreFailed:
        words = _tail(self._log, self._log_offset)
        where = f"; see {self.log_path}" if self.log_path else ""
        return StoreFailed(f"the embedded S3 store {what}{': ' + words if words else ''}{where}")

    def _ready_line(self, deadline: float) -> dict:
        line = b""
        with selectors.DefaultSelector() as selector:
            selector.register(self._proc.stdout, selectors.EVENT_READ)
            while not line.endswith(b"\n"):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise self._failed(f"was not ready within {self._ready_timeout_s:.0f} s")
                if selector.select(min(left, 0.5)):
                    data = os.read(self._proc.stdout.fileno(), 4096)
                    if not data:
                        raise self._failed(f"exited with {self._proc.wait()} before it was ready")
                    line += data
        self._proc.stdout.close()  # the child points its stdout at the log after this line
        return json.loads(line)

    def _until_it_answers(self, deadline: float) -> None:
        while True:
            conn = http.client.HTTPConnection(self.host, self.port, timeout=5)
            try:
                conn.request("GET", "/")
                conn.getresponse().read()
                return
            except OSError:
                if time.monotonic() > deadline or not self.running:
                    raise self._failed(f"at {self.endpoint} does not answer") from None
                time.sleep(0.05)
            finally:
                conn.close()

    def stop(self, grace_s: float = 10.0) -> int | None:
        """SIGTERM, SIGKILL after `grace_s`; the exit code (None if never started).
        Blocks: from asyncio code, run it in a thread."""
        proc, self._proc = self._proc, None
        if proc is None:
            return None
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(grace_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            code = proc.wait()
        if proc.stdout and not proc.stdout.closed:
            proc.stdout.close()
        if self._log is not None:
            self._log.close()
            self._log = None
        return code

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def _tail(log, offset: int, lines: int = 3) -> str:
    """The child's last words in its log since `offset` (a log kept across runs)."""
    try:
        start = max(offset, os.fstat(log.fileno()).st_size - 64 * 1024)
        text = os.pread(log.fileno(), 64 * 1024, start).decode(errors="replace")
    except (OSError, ValueError, AttributeError):
        return ""
    return " | ".join(line.strip() for line in text.strip().splitlines()[-lines:])
