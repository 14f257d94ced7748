"""With WEFTKIT_DISCOVERY_URL the engine joins the fleet when it serves and
leaves on SIGTERM, before its final flush (a real discovery node process)."""
from __future__ import annotations

import json
import sys
import time

import pytest

from .harness import call, clean_env, spawn


@pytest.fixture
def discovery(tmp_path):
    proc = spawn([sys.executable, "-m", "emulator.cli", "discovery", "--bind", "127.0.0.1:0",
                  "--api-bind", "127.0.0.1:0"], env=clean_env(), stderr_path=tmp_path / "disc.stderr")
    assert proc.ready, proc.stderr()
    yield proc.ready["api"]
    proc.stop(20)


def member(api: str, node_id: str) -> dict | None:
    members = json.loads(call(api, "GET", "/v1/members")[1])["members"]
    return next((m for m in members if m["node_id"] == node_id), None)


def test_an_engine_registers_and_leaves(discovery, engines):
    a = engines("vector", {"WEFTKIT_DISCOVERY_URL": discovery})
    iid, deadline = a.ready["instance_id"], time.monotonic() + 10
    while (m := member(discovery, iid)) is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert m and (m["type"], m["protocol"], m["groups"], m["status"]) == ("vector", "http", ["vector"], "alive")
    assert m["endpoint"] == f"127.0.0.1:{a.ready['port']}"
    assert a.wait(lambda s: (s["discovery"] or {}).get("registered"), what="registered")[
        "discovery"]["node_id"] == iid
    assert a.proc.stop() == 0
    assert member(discovery, iid)["status"] == "left"


def test_a_bad_discovery_variable_stops_the_engine(engines):
    a = engines("vector", {"WEFTKIT_DISCOVERY_URL": "ftp://nowhere"}, expect_ready=False)
    assert a.proc.wait(10) == 2 and "WEFTKIT_DISCOVERY_URL" in a.proc.stderr()
