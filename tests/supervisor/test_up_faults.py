"""Faults set through the control API produce the engine behaviour seed 000 gives."""
from __future__ import annotations

import json
import time

import pytest

from tests.support.emulator import FAST, start_emulator

from .test_up import call, write_records

pytestmark = pytest.mark.slow


def status(url: str) -> dict:
    return json.loads(call("GET", f"{url}/status")[1])


def wait_for(predicate, url: str, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        s = status(url)
        if predicate(s):
            return s
        time.sleep(0.2)
    raise AssertionError(f"condition not met; last status {json.dumps(s)[:1500]}")


def caught_up(s: dict) -> bool:
    return s["lsn"] > 0 and s["durable_lsn"] == s["lsn"]


@pytest.fixture(scope="module")
def emu(tmp_path_factory):
    emulator = start_emulator(tmp_path_factory.mktemp("faults"), FAST + "[fleet.relational]\nreplicas = 1\n")
    yield emulator
    assert emulator.stop() == 0


@pytest.fixture
def engine(emu):
    emu.control.delete("/v1/faults")
    url = emu.engine_url("relational-1")
    wait_for(caught_up if status(url)["lsn"] else (lambda s: True), url)
    yield url
    emu.control.delete("/v1/faults")


def persist_answers(emu, status: str) -> int:
    """How many pushes the function answered with `status` (no /persist entry before the first)."""
    return emu.control.get("/v1/function").get("/persist", {}).get("requests", {}).get(status, 0)


def last_status(s: dict):
    return (s.get("last_push") or {}).get("status")


def test_5xx_is_retried_until_it_lands(emu, engine):
    emu.control.post("/v1/faults", {"target": "function", "kind": "error", "status": 503, "count": 2,
                                    "paths": ["/persist"]})
    write_records(engine, "relational", 3, seed=11)
    wait_for(caught_up, engine)
    assert emu.control.get("/v1/function")["/persist"]["requests"].get("503") >= 2


def test_an_outage_buffers_then_drains(emu, engine):
    fault = emu.control.post("/v1/faults", {"target": "function", "kind": "outage"})
    assert fault["kind"] == "outage"
    write_records(engine, "relational", 3, seed=12)
    s = wait_for(lambda s: s["unacknowledged_writes"] > 0 and last_status(s) not in (200, 202), engine)
    assert s["durable_lsn"] < s["lsn"]
    emu.control.delete("/v1/faults")
    wait_for(caught_up, engine)
    emu.wait_event("fault.set", "function")


def test_a_request_limit_makes_the_engine_split(emu, engine):
    emu.control.post("/v1/faults", {"target": "function", "kind": "request_limit", "bytes": 600})
    write_records(engine, "relational", 60, seed=13)  # ~1.8 KB compressed: over the limit
    call("POST", f"{engine}/admin/push")
    s = wait_for(lambda s: caught_up(s) and (s["last_push"] or {}).get("parts", 1) > 1, engine)
    assert s["learned_max_payload"] == 600


def test_engine_clock_skew_gets_401_until_cleared(emu, engine):
    emu.control.post("/v1/faults", {"target": "engine", "engine": "relational-1", "clock_skew_s": 400})
    assert emu.control.get("/v1/faults")["engines"] == {"relational-1": 400}
    write_records(engine, "relational", 2, seed=14)
    s = wait_for(lambda s: any(a["kind"] == "auth" and "401" in a["message"]
                               for a in s["recent_alerts"]), engine)
    assert s["durable_lsn"] < s["lsn"]  # nothing lands while its signatures are stale
    emu.control.delete("/v1/faults")
    wait_for(caught_up, engine)


def test_a_store_outage_is_503_and_drains_after(emu, engine):
    emu.control.post("/v1/faults", {"target": "store", "kind": "outage"})
    before = persist_answers(emu, "503")
    write_records(engine, "relational", 2, seed=15)
    wait_for(lambda s: s["unacknowledged_writes"] > 0 and persist_answers(emu, "503") > before, engine)
    emu.control.delete("/v1/faults")
    wait_for(caught_up, engine)


def test_bad_fault_specs_are_400(emu):
    from emulator.api.client import ControlError
    for spec in ({"target": "moon"}, {"target": "function", "kind": "error", "status": 99},
                 {"target": "engine", "engine": "relational-1"}, {"target": "engine", "engine": "nope-1",
                                                                  "clock_skew_s": 5}):
        with pytest.raises(ControlError) as info:
            emu.control.post("/v1/faults", spec)
        assert info.value.status in (400, 404)
