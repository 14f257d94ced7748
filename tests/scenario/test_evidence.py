"""Measures over recorded evidence (pure: no stack, no clock)."""
from __future__ import annotations

import json

from emulator.scenario import evidence as E

from .recorded import T0, ack, boot, event, evidence, function, step, write


def test_a_writes_risk_window_ends_at_the_push_that_covers_it():
    ev = evidence(witness={"vector-1": (write(1, 1), write(2, 2), write(3, 3), ack(2, 4),
                                        write(4, 5), ack(4, 10), write(5, 12))})
    windows = E.risk_windows(ev)
    assert [(w.lsn, w.seconds, w.open) for w in windows] == [
        (1, 3.0, False), (2, 2.0, False), (3, 7.0, False), (4, 5.0, False), (5, 48.0, True)]
    s = E.risk_summary(windows)
    assert (s["writes"], s["open"], s["p50_s"], s["max_s"]) == (5, 1, 5.0, 48.0)


def test_writes_before_time_zero_are_not_the_runs():
    ev = evidence(witness={"vector-1": (write(1, -5), write(2, 1), ack(2, 2))})
    assert [w.lsn for w in E.risk_windows(ev)] == [2]


def test_percentile_is_nearest_rank():
    values = [float(v) for v in range(1, 101)]
    assert (E.percentile(values, 50), E.percentile(values, 99), E.percentile(values, 100)) == (50, 99, 100)
    assert E.percentile([7.0], 1) == 7.0 and E.percentile([], 50) is None


def test_losses_sum_the_boots_of_the_scope():
    ev = evidence(recoveries={"vector-1": (boot(-1, "fresh"), boot(20, lost=4)),
                              "relational-1": (boot(30, lost=2, lost_acknowledged=1, mismatched=1),)})
    assert E.losses(ev) == {"boots": 2, "restored_boots": 2, "lost": 6, "lost_acknowledged": 1,
                            "mismatched": 1, "by_engine": {"vector-1": 4, "relational-1": 2}}
    assert E.losses(ev, ("kind", "vector"))["lost"] == 4


def test_recovery_runs_from_the_disruption_to_serving_again():
    events = [event("engine.killed", "relational-1", 10.01), event("engine.started", "relational-1", 13.0),
              event("engine.crashed", "vector-1", 30.0), event("engine.started", "vector-1", 32.0),
              event("engine.stopping", "vector-2", 40.2)]
    ev = evidence(events=events, steps=[step(1, "kill", 10.0, ["relational-1"]),
                                         step(2, "recycle", 40.0, ["vector-2"])])
    found = E.recoveries(ev)
    assert [(r.engine, r.cause, r.seconds) for r in found] == [
        ("relational-1", "kill", 2.99), ("vector-2", "recycle", None), ("vector-1", "crash", 2.0)]
    assert [r.engine for r in E.recoveries(ev, ("kind", "vector"))] == ["vector-2", "vector-1"]


def test_function_counts_are_the_runs_difference():
    ev = evidence(function_samples=[function(0, {200: 5, 503: 1}, {204: 1}),
                                    function(30, {200: 9, 202: 2, 503: 4, 409: 1, "dropped": 3},
                                             {200: 2, 204: 1})])
    counts = E.function_counts(ev)
    assert counts == {"pushes": 6, "push_attempts": 13, "restores": 2, "restores_empty": 0,
                      "status_5xx": 3, "dropped": 3, "status_401": 0, "status_409": 1,
                      "status_413": 0, "status_429": 0}


def test_exit_codes_and_failure_detection():
    events = [event("engine.started", "vector-2", 1, instance_id="v2-id"),
              event("engine.killed", "vector-2", 10, exit_code=-9),
              event("engine.stopped", "vector-2", 50, exit_code=0)]
    ev = evidence(events=events, steps=[step(1, "kill", 10, ["vector-2"])],
                  member_samples=[(T0 + 11, {"v2-id": "alive"}), (T0 + 14.5, {"v2-id": "suspect"}),
                                  (T0 + 17.5, {"v2-id": "failed"})])
    assert E.exit_codes(ev, "vector-2") == [-9, 0]
    assert E.failure_detections(ev, "vector-2") == [(10, 7.5)]


def test_series_for_the_picture():
    events = [event("engine.started", "vector-1", -1), event("engine.started", "vector-2", -1),
              event("engine.killed", "vector-2", 5), event("engine.started", "vector-2", 8),
              event("fault.set", "function", 10, kind="error", status=503),
              event("fault.cleared", "all", 20)]
    ev = evidence(events=events, function_samples=[function(0, {200: 0}), function(4, {200: 8}),
                                                   function(8, {200: 8, 503: 4})], end=T0 + 8)
    assert E.fleet_series(ev)["vector"] == [(-1, 1), (-1, 2), (5, 1), (8, 2)]
    assert E.fault_periods(ev) == [(10, 20, "function error 503")]
    rates = E.rate_series(ev, bucket_s=4)
    assert rates[1] == (4, 2.0, 0.0) and rates[2] == (8, 0.0, 1.0)


def test_evidence_is_plain_json_both_ways():
    ev = evidence(events=[event("engine.started", "vector-1", 1)], steps=[step(1, "kill", 2, ["vector-1"])],
                  witness={"vector-1": (write(1, 1), ack(1, 2))}, recoveries={"vector-1": (boot(3),)},
                  function_samples=[function(0, {200: 1})], member_samples=[(T0, {"a": "alive"})],
                  ledgers={"vector-1": {"ack": 3, "boot": 1}})
    again = E.Evidence.from_json(json.loads(json.dumps(ev.to_json())))
    assert again == ev
