"""Discovery nodes and agents as real OS processes, ready when their JSON line arrives."""
from __future__ import annotations

import json
import selectors
import subprocess
import sys
import time
from pathlib import Path

from tests.support.processes import REPO, Proc, test_env

from .conftest import FAST


def spawn(argv: list[str], tmp_path: Path, name: str, env: dict | None = None,
          timeout: float = 30) -> Proc:
    err = tmp_path / f"{name}.stderr"
    popen = subprocess.Popen([sys.executable, *argv], stdout=subprocess.PIPE,
                             stderr=err.open("wb"), env=env or test_env(), cwd=REPO)
    selector = selectors.DefaultSelector()
    selector.register(popen.stdout, selectors.EVENT_READ)
    deadline, line = time.monotonic() + timeout, b""
    while time.monotonic() < deadline and not line.endswith(b"\n") and popen.poll() is None:
        if selector.select(timeout=0.1):
            line += popen.stdout.read1(4096)
    if not line.endswith(b"\n"):
        popen.kill()
        popen.wait()
        raise RuntimeError(f"{name} never became ready; stderr:\n{err.read_text()}")
    return Proc(popen, json.loads(line.splitlines()[0]), err, argv)


def toml_config(path: Path, node_id: str, seeds: list[str], config=FAST, **extra) -> Path:
    keys = {"node_id": node_id, "bind": "127.0.0.1:0", "api_bind": "127.0.0.1:0",
            "seeds": seeds, "gossip_interval_ms": config.gossip_interval_ms,
            "probe_timeout_ms": config.probe_timeout_ms,
            "suspicion_timeout_ms": config.suspicion_timeout_ms,
            "heartbeat_interval_ms": config.heartbeat_interval_ms,
            "missed_heartbeats": config.missed_heartbeats,
            "reconnect_interval_ms": config.reconnect_interval_ms, **extra}
    lines = ["[discovery]"] + [f"{k} = {json.dumps(v)}" for k, v in keys.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


def discovery_process(tmp_path: Path, node_id: str, seeds: list[str], **extra) -> Proc:
    config = toml_config(tmp_path / f"{node_id}.toml", node_id, seeds, **extra)
    return spawn(["-m", "emulator.cli", "discovery", "--config", str(config)], tmp_path, node_id)


def agent_process(tmp_path: Path, node_id: str, url: str, *, endpoint: str,
                  groups=("relational-primary",), env: dict | None = None) -> Proc:
    argv = ["-m", "emulator.discovery.agent", "--url", url, "--node-id", node_id,
            "--type", "relational", "--protocol", "postgres", "--endpoint", endpoint]
    for group in groups:
        argv += ["--group", group]
    return spawn(argv, tmp_path, node_id, env=env)
