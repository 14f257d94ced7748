"""The control surface's own rules and shapes (pure parts; the routes that use it are
exercised against a real emulator by test_up*, test_control_* and the TUI's tests)."""
from __future__ import annotations

from pathlib import Path

from emulator.supervisor.control import EngineView, FleetView, HealthView, service_transitions
from emulator.supervisor.fleet import Slot
from emulator.supervisor.pods import Pod


def test_a_service_that_stops_by_itself_failed_and_one_stopped_on_the_way_down_did_not():
    assert service_transitions({}, {"discovery": "stopped"}, stopping=False) == []
    assert service_transitions({"discovery": "running"}, {"discovery": "stopped"}, stopping=False) == [
        ("service.failed", "discovery", "stopped")]
    assert service_transitions({"discovery": "running"}, {"discovery": "stopped"}, stopping=True) == [
        ("service.stopped", "discovery", "stopped")]
    assert service_transitions({"discovery": "running"}, {"discovery": "running"}, stopping=False) == []


def test_an_engine_view_keeps_every_field_of_the_pod_and_adds_phase_and_alerts():
    pod = Pod(Slot("vector", 2), 3, Path("v"), Path("l"))
    pod.status = {"phase": "push_wait", "alerts": 2, "cursor": "c", "lsn": 5, "durable_lsn": 4}
    view = EngineView.of(pod)
    assert (view.name, view.kind, view.generation, view.phase, view.alerts) == ("vector-2", "vector", 3, "push_wait", 2)
    out = view.to_json()
    assert set(pod.to_json()) <= set(out) and out["lsn"] == 5 and out["phase"] == "push_wait"
    assert FleetView((view,)).to_json() == {"engines": [out]}
    assert HealthView("running", {}, {}, {}, 1.0).to_json()["status"] == "running"


def test_the_ledger_tail_is_a_bounded_whole_number_and_anything_else_names_the_parameter():
    import pytest
    from emulator.supervisor.control import MAX_LEDGER_TAIL, ledger_tail_size
    from emulator.supervisor.supervisor import ActionError
    assert [ledger_tail_size(t) for t in ("0", "50", str(MAX_LEDGER_TAIL))] == [0, 50, MAX_LEDGER_TAIL]
    for bad in ("", "-1", "1.5", "abc", "²", "٣", str(MAX_LEDGER_TAIL + 1), "9" * 5000):
        with pytest.raises(ActionError, match="tail must be a whole number") as caught:
            ledger_tail_size(bad)
        assert caught.value.status == 400 and len(str(caught.value)) < 200  # a huge value is not echoed whole


def test_a_kind_is_checked_in_public():
    import pytest
    from emulator.supervisor.control import require_kind
    from emulator.supervisor.supervisor import ActionError
    assert require_kind("vector") == "vector"
    with pytest.raises(ActionError, match="unknown kind 'vectors'; kinds are .*vector") as caught:
        require_kind("vectors")
    assert caught.value.status == 404
