"""The fleet view against a real `up` (real supervisor, engines and moto), driven by
Textual's pilot: every action below goes through the control API for real."""
from __future__ import annotations

import subprocess

import pytest

from emulator.tui.app import FleetApp
from emulator.tui.source import LiveSource
from tests.support.emulator import FAST, start_emulator
from tests.support import processes
from tests.support.processes import REPO, WKP_EMU

CONFIG = FAST + "[workload.relational]\nrate = 20\n"


@pytest.fixture(scope="module")
def emulator(tmp_path_factory):
    emu = start_emulator(tmp_path_factory.mktemp("tui"), CONFIG)
    yield emu
    assert emu.stop() == 0


async def until(pilot, check, what: str, timeout: float = 60) -> None:
    for _ in range(int(timeout / 0.1)):
        if check():
            return
        await pilot.pause(0.1)
    raise AssertionError(f"not within {timeout}s: {what}; outcomes {pilot.app.outcomes}")


async def select(pilot, text: str) -> None:
    """Filter the fleet down to `text`, so the cursor is on that engine."""
    await pilot.press("escape", "slash", *text, "enter")


def row(app, name):
    return app.model.rows.get(name, {})


def test_the_ledger_route_answers_a_bounded_tail_and_400_for_anything_else(emulator):
    from emulator.api.client import ControlError
    tail = emulator.control.get("/v1/engines/relational-1/ledger?tail=3")
    assert tail["name"] == "relational-1" and len(tail["entries"]) <= 3 and "recovery" in tail
    assert len(emulator.control.get("/v1/engines/relational-1/ledger?tail=0")["entries"]) >= len(tail["entries"])
    for bad in ("9" * 5000, "100001", "-1", "x", "%C2%B2"):  # thousands of digits was a 500
        with pytest.raises(ControlError) as caught:
            emulator.control.get(f"/v1/engines/relational-1/ledger?tail={bad}")
        assert caught.value.status == 400 and "tail must be a whole number" in str(caught.value), bad
    with pytest.raises(ControlError) as caught:
        emulator.control.get("/v1/engines/nope-1/ledger")
    assert caught.value.status == 404


def test_headless_up_adds_no_default_workload(emulator):
    """Only the TUI gives the default fleet a workload: headless and CI runs stay quiet."""
    assert emulator.control.get("/v1/engines/vector-1/workload")["running"] is False
    assert emulator.control.get("/v1/engines/relational-1/workload")["rate"] == 20  # as the file asks


async def test_recycle_key_recycles_and_nothing_acknowledged_is_lost(emulator):
    app = FleetApp(LiveSource(emulator.ready["control"]))
    async with app.run_test(size=(160, 40)) as pilot:
        await until(pilot, lambda: (row(app, "relational-1").get("durable_lsn") or 0) > 20,
                    "relational-1 pushed its writes")
        before = row(app, "relational-1")["pid"]
        await select(pilot, "relational-1")
        await pilot.press("r")
        await until(pilot, lambda: any(ok and "recycled relational-1" in t for ok, t in app.outcomes),
                    "the recycle was reported")
        await until(pilot, lambda: row(app, "relational-1").get("pid") not in (None, before)
                    and row(app, "relational-1").get("state") == "running", "the new pod shows")
        assert (row(app, "relational-1").get("boot") or {}).get("how") == "restored"
    recovery = emulator.control.get("/v1/engines/relational-1/ledger?tail=5")["recovery"]
    assert recovery["boot"] == "restored" and recovery["lost_acknowledged"] == 0, recovery
    objects = emulator.control.get("/v1/store/objects?tenant=default&engine=relational&instance=relational-1")
    kinds = {o["kind"] for o in objects["objects"]}
    assert "full" in kinds and all(o["cursor_to"] for o in objects["objects"] if o["kind"] != "other")


async def test_scale_to_zero_and_back_and_a_refused_scale(emulator):
    app = FleetApp(LiveSource(emulator.ready["control"]))
    async with app.run_test(size=(160, 40)) as pilot:
        await until(pilot, lambda: row(app, "vector-2").get("state") == "running", "vector-2 runs")
        await select(pilot, "vector-1")
        await pilot.press("s", "ctrl+a", "ctrl+k", *"vector 0", "enter")
        await until(pilot, lambda: not any(n.startswith("vector-") for n in app.model.rows), "vector at 0")
        await pilot.press("s", "ctrl+a", "ctrl+k", *"vector 2", "enter")
        await until(pilot, lambda: row(app, "vector-2").get("state") == "running", "vector back at 2")
        await pilot.press("s", "ctrl+a", "ctrl+k", *"vector 999", "enter")
        await until(pilot, lambda: any(not ok and "256" in t for ok, t in app.outcomes),
                    "the refusal was reported")
        await pilot.press("escape")
        assert app.screen.__class__.__name__ == "FleetScreen"  # still alive and steering
    assert {e["name"] for e in emulator.control.get("/v1/fleet")["engines"]} >= {"vector-1", "vector-2"}


async def test_a_fault_set_from_the_dialog_shows_in_fault_list(emulator):
    app = FleetApp(LiveSource(emulator.ready["control"]))
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press("f")
        await pilot.pause()
        await pilot.click("#field-count")  # enough hits to outlive the pushes until `fault list`
        await pilot.press("ctrl+a", "ctrl+k", *"100000")
        await pilot.click("#field-status")
        await pilot.press("ctrl+a", "ctrl+k", *"429", "enter")
        await until(pilot, lambda: any(ok and "fault" in t and "429" in t for ok, t in app.outcomes),
                    "the fault was set")
    listed = subprocess.run(WKP_EMU + ["fault", "list", "--state-dir", str(emulator.state_dir)],
                            capture_output=True, text=True, env=processes.test_env(), cwd=REPO, timeout=60)
    assert "function  error" in listed.stdout and "status=429" in listed.stdout, listed.stdout
    emulator.control.delete("/v1/faults")


async def test_the_workload_switch_turns_an_engine_off_and_a_kind_on(emulator):
    app = FleetApp(LiveSource(emulator.ready["control"]))
    async with app.run_test(size=(160, 40)) as pilot:
        await until(pilot, lambda: row(app, "relational-1").get("state") == "running", "relational-1 runs")
        await select(pilot, "relational-1")
        await pilot.press("w")
        await pilot.pause()
        await pilot.press("ctrl+a", "ctrl+k", "0", "enter")
        await until(pilot, lambda: any(ok and "workload of relational-1: 0.0" in t for ok, t in app.outcomes),
                    "the engine's workload switched off")
    assert emulator.control.get("/v1/engines/relational-1/workload")["running"] is False
    answer = emulator.control.post("/v1/fleet/vector/workload", {"rate": 2, "value_bytes": 512})
    assert [e["running"] for e in answer["engines"]] == [True, True]
    assert emulator.control.get("/v1/engines/vector-1/workload")["value_bytes"] == 512
    emulator.control.post("/v1/fleet/vector/recycle")  # a new pod follows the kind's setting
    assert emulator.control.get("/v1/engines/vector-2/workload")["rate"] == 2
    emulator.control.post("/v1/fleet/vector/workload", {"rate": 0})
