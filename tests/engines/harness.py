"""Real processes for the engine tests: `wkp-emu function` (with its moto) and
`python -m engines_fake`, spoken to over real HTTP on loopback."""
from __future__ import annotations

import http.client
import json
import os
import random
import selectors
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parents[2]
SECRET = "engine-tests-secret"


def clean_env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "WEFTKIT_"))}
    env["PYTHONPATH"] = str(REPO)
    env.update({k: str(v) for k, v in extra.items()})
    return env


def call(base: str, method: str, path: str, body: bytes | None = None, timeout: float = 10,
         headers: dict | None = None) -> tuple[int, bytes, dict]:
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        return r.status, r.read(), dict(r.getheaders())
    finally:
        conn.close()


@dataclass
class Proc:
    popen: subprocess.Popen
    ready: dict | None
    stderr_path: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def stderr(self) -> str:
        return self.stderr_path.read_text() if self.stderr_path.exists() else ""

    def signal(self, sig) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(sig)

    def wait(self, timeout: float = 40) -> int:
        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait(5)
            raise AssertionError(f"process {self.pid} did not exit in {timeout}s:\n{self.stderr()}")

    def stop(self, timeout: float = 40) -> int:
        self.signal(signal.SIGTERM)
        return self.wait(timeout)

    def kill(self) -> int:
        self.signal(signal.SIGKILL)
        return self.popen.wait(10)


def spawn(argv: list[str], *, env: dict, stderr_path: Path, timeout: float = 30) -> Proc:
    """Start a process and read its one JSON ready line; ready=None if it exited first."""
    popen = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=stderr_path.open("wb"), env=env,
                             cwd=REPO)
    selector = selectors.DefaultSelector()
    selector.register(popen.stdout, selectors.EVENT_READ)
    line, deadline = b"", time.monotonic() + timeout
    while not line.endswith(b"\n") and time.monotonic() < deadline:
        if selector.select(timeout=0.1):
            chunk = popen.stdout.read1(65536)
            if not chunk:
                break  # stdout closed: the process is exiting
            line += chunk
        elif popen.poll() is not None:
            break
    selector.close()
    if not line.endswith(b"\n"):
        try:  # stdout closed or time is up: it exited, or is about to, or hangs
            popen.wait(max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            popen.kill()
            popen.wait(5)
            raise AssertionError(f"{argv} never became ready:\n{stderr_path.read_text()}")
        return Proc(popen, None, stderr_path)
    return Proc(popen, json.loads(line.splitlines()[0]), stderr_path)


class Function:
    """`wkp-emu function` on loopback with its embedded moto S3."""

    def __init__(self, workdir: Path, *extra: str):
        self.proc = spawn([sys.executable, "-m", "emulator.cli", "function", "--port", "0",
                           "--secret", SECRET, *extra], env=clean_env(),
                          stderr_path=workdir / f"function-{uuid.uuid4().hex[:6]}.stderr", timeout=60)
        assert self.proc.ready, self.proc.stderr()
        self.endpoint = self.proc.ready["endpoint"]
        self.s3_endpoint = self.proc.ready["s3_endpoint"]
        self.bucket = self.proc.ready["bucket"]

    def fault(self, **spec) -> dict:
        status, body, _ = call(self.endpoint, "POST", "/_wkp/faults", json.dumps(spec).encode(),
                               headers={"Content-Type": "application/json"})
        assert status == 201, body
        return json.loads(body)

    def faults(self) -> list:
        return json.loads(call(self.endpoint, "GET", "/_wkp/faults")[1])["faults"]

    def clear_faults(self) -> None:
        call(self.endpoint, "DELETE", "/_wkp/faults")

    def reset(self) -> None:
        assert call(self.endpoint, "POST", "/_wkp/reset")[0] == 200

    def s3(self):
        import boto3
        return boto3.client("s3", endpoint_url=self.s3_endpoint, region_name="us-east-1",
                            aws_access_key_id="wkp-emu", aws_secret_access_key="wkp-emu")

    def keys(self, prefix: str) -> list[str]:
        pages = self.s3().get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix)
        return [o["Key"] for page in pages for o in page.get("Contents", [])]

    def stop(self) -> None:
        self.proc.stop(20)


@dataclass
class Engine:
    proc: Proc
    data_dir: Path
    env: dict = field(default_factory=dict)

    @property
    def ready(self) -> dict:
        return self.proc.ready

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.ready['port']}"

    def request(self, method, path, body=None):
        return call(self.url, method, path, body)

    def put(self, key: str, value: bytes) -> int:
        status, body, _ = self.request("PUT", f"/records/{key}", value)
        assert status == 200, body
        return json.loads(body)["lsn"]

    def delete(self, key: str) -> int:
        status, body, _ = self.request("DELETE", f"/records/{key}")
        assert status == 200, body
        return json.loads(body)["lsn"]

    def get(self, key: str) -> bytes | None:
        status, body, _ = self.request("GET", f"/records/{key}")
        return body if status == 200 else None

    def json(self, path: str) -> dict:
        status, body, _ = self.request("GET", path)
        assert status == 200, body
        return json.loads(body)

    def status(self) -> dict:
        return self.json("/status")

    def digest(self) -> str:
        return self.json("/digest")["digest"]

    def push_now(self) -> None:
        assert self.request("POST", "/admin/push")[0] == 202

    def wait(self, predicate, timeout: float = 20, what: str = "condition") -> dict:
        deadline = time.monotonic() + timeout
        while True:
            status = self.status()
            if predicate(status):
                return status
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}; status: {status}\n"
                                     f"{self.proc.stderr()[-3000:]}")
            time.sleep(0.05)

    def wait_durable(self, timeout: float = 20) -> dict:
        return self.wait(lambda s: s["durable_lsn"] == s["lsn"] and s["lsn"] > 0, timeout,
                         "every write acknowledged")

    def ledger(self) -> list[dict]:
        return self.json("/ledger")["entries"]


def engine_env(function: Function | None, **settings) -> dict:
    """WEFTKIT_* for a serverless engine on `function`; keyword names drop the prefix."""
    env = {}
    if function is not None:
        env.update(WEFTKIT_PERSIST_MODE="serverless", WEFTKIT_PERSIST_ENDPOINT=function.endpoint,
                   WEFTKIT_PERSIST_SECRET=SECRET, WEFTKIT_PERSIST_SCHEDULE="*/1 * * * * *",
                   WEFTKIT_PERSIST_BACKOFF_BASE="0.05", WEFTKIT_PERSIST_HEALTH_INTERVAL="0")
    for key, value in settings.items():
        name = key.upper()
        name = name if name.startswith("WEFTKIT_") else f"WEFTKIT_PERSIST_{name}"
        if value is None:
            env.pop(name, None)
        else:
            env[name] = str(value)
    return env


def start_engine(kind: str, data_dir: Path, env: dict, *, expect_ready: bool = True,
                 timeout: float = 30) -> Engine:
    proc = spawn([sys.executable, "-m", "engines_fake", "--kind", kind, "--data-dir", str(data_dir),
                  "--log-level", "INFO"], env=clean_env(**env),
                 stderr_path=data_dir.parent / f"{data_dir.name}-{uuid.uuid4().hex[:6]}.stderr",
                 timeout=timeout)
    if expect_ready:
        assert proc.ready, f"engine exited {proc.popen.returncode}:\n{proc.stderr()}"
    return Engine(proc, data_dir, env)


def read_ledger(data_dir: Path) -> list[dict]:
    """The volume's ledger file, read directly (the engine may be gone)."""
    path = Path(data_dir) / "ledger.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def values(kind: str, n: int, seed: int = 1) -> list[bytes]:
    from engines_fake.kinds import profile
    rng = random.Random(seed)
    return [profile(kind).generate(rng, i) for i in range(n)]
