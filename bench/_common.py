"""Shared pieces of the benchmarks: the function process, started as a user starts it.

Two store configurations, both worth measuring:
- "default": `wkp-emu function` with no --s3-endpoint, exactly as a user runs
  it; its embedded moto runs in a child process of the function (the baseline
  talks to that same store, read from the ready line);
- "external": moto started here in a process of its own and given to the
  function with --s3-endpoint (what the benchmarks measured before the default
  moved moto out of the function's process).
"""
from __future__ import annotations

import json
import os
import statistics
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[1]
SECRET = "bench-secret"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def env() -> dict:
    out = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    out.update(PYTHONPATH=str(REPO), AWS_ACCESS_KEY_ID="wkp-emu", AWS_SECRET_ACCESS_KEY="wkp-emu")
    return out


def start_moto() -> tuple[subprocess.Popen, str]:
    """moto in its own process, so that neither side of a comparison shares its GIL."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env())
    endpoint = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc, endpoint
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("moto did not start")


def start_function(*extra: str) -> tuple[subprocess.Popen, dict]:
    """`wkp-emu function --port 0 --secret S EXTRA...` (the CLI's own code path);
    its ready line carries the store's endpoint and bucket."""
    proc = subprocess.Popen([sys.executable, "-m", "emulator.cli", "function", "--port", "0",
                             "--secret", SECRET, *extra], stdout=subprocess.PIPE, env=env())
    line = proc.stdout.readline()
    if not line:
        raise RuntimeError(f"wkp-emu function exited with {proc.wait()} before it was ready")
    return proc, json.loads(line)


class Stack:
    """The function and its store in one of the two configurations (see above).
    `store_pid` is the process serving S3, for its own RSS figure."""

    def __init__(self, store: str, *extra: str):
        if store not in ("default", "external"):
            raise ValueError(f"--stores takes default and/or external, not {store!r}")
        self.moto = None
        if store == "external":
            self.moto, endpoint = start_moto()
            extra = ("--s3-endpoint", endpoint, "--bucket", "bench", *extra)
        self.function, self.ready = start_function(*extra)
        self.s3_endpoint, self.bucket = self.ready["s3_endpoint"], self.ready["bucket"]
        self.endpoint = self.ready["endpoint"]
        self.store_pid = self.moto.pid if self.moto else self._embedded_store_pid()

    def _embedded_store_pid(self) -> int:
        children = psutil.Process(self.function.pid).children()
        if len(children) != 1:
            raise RuntimeError(f"expected one store child of the function, found {children}")
        return children[0].pid

    def stop(self) -> None:
        stop(self.function)
        if self.moto:
            stop(self.moto)


def median(values) -> float:
    return statistics.median(values)


def s3_client(endpoint: str, **config):
    import boto3
    from botocore.config import Config
    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                        aws_access_key_id="wkp-emu", aws_secret_access_key="wkp-emu",
                        config=Config(**config))


class RssSampler:
    """Peak RSS of a process, sampled every few milliseconds in a thread."""

    def __init__(self, pid: int, interval: float = 0.005):
        import threading
        self._proc = psutil.Process(pid)
        self.start_rss = self._proc.memory_info().rss
        self.peak = self.start_rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(interval,), daemon=True)
        self._thread.start()

    def _run(self, interval):
        while not self._stop.is_set():
            self.peak = max(self.peak, self._proc.memory_info().rss)
            self._stop.wait(interval)

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak - self.start_rss


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
