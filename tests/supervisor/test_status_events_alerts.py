"""engine.alert and engine.phase from two successive /status snapshots (pure)."""
from __future__ import annotations

from emulator.supervisor.status_events import new_alerts, status_events


def test_each_new_alert_is_one_event_and_old_ones_are_not_repeated():
    old = {"kind": "auth", "message": "401", "at": 10.0}
    new = {"kind": "store", "message": "503 x5", "at": 12.0}
    events = status_events({"recent_alerts": [old], "phase": "idle"},
                           {"recent_alerts": [old, new], "phase": "idle"})
    assert events == [("engine.alert", {"alert": "store", "message": "503 x5", "at": 12.0})]
    assert new_alerts([], [old]) == [old]  # the first snapshot reports what the engine raised at boot


def test_only_waits_and_their_end_are_phase_events():
    assert status_events({"phase": "idle"}, {"phase": "pushing"}) == []
    assert status_events({"phase": "pushing"}, {"phase": "push_wait"}) == [
        ("engine.phase", {"phase": "push_wait", "was": "pushing"})]
    assert status_events({"phase": "push_wait"}, {"phase": "idle"}) == [
        ("engine.phase", {"phase": "idle", "was": "push_wait"})]
    assert status_events({}, {"phase": "restore_wait"}) == []  # the first snapshot: engine.started says it
