"""Seed 000's status table, exercised against the real function: its fault hooks
for 5xx, outages, 429, 401 and 400; real means for 409 (a store reset, a second
writer) and 413 (a function started with a small --max-payload)."""
from __future__ import annotations

import shutil
import time
import uuid

import pytest

from .harness import Function, engine_env, read_ledger, values

MANUAL = "0 0 1 1 *"  # yearly: pushes happen only when the test asks (POST /admin/push)


def manual_engine(engines, function, kind="keyvalue", name="vol", **settings):
    settings.setdefault("instance_id", f"st-{uuid.uuid4().hex[:10]}")
    return engines(kind, engine_env(function, schedule=MANUAL, **settings), name=name)


def write_some(engine, kind="keyvalue", n=5, prefix="k", seed=1):
    for i, value in enumerate(values(kind, n, seed)):
        engine.put(f"{prefix}{i}", value)


def alert_kinds(engine) -> list[str]:
    return [a["kind"] for a in engine.status()["recent_alerts"]]


def test_5xx_is_retried_with_backoff_until_stored(function, engines):
    function.fault(kind="error", status=503, count=2, paths=["/persist"])
    a = manual_engine(engines, function)
    write_some(a)
    a.push_now()
    a.wait_durable()
    assert function.faults() == []  # both 503s were consumed: three attempts
    log = a.proc.stderr()
    assert "503 for full" in log and "attempt 2/5" in log and "attempt 3/5" in log


def test_network_errors_are_retried(function, engines):
    function.fault(kind="outage", count=2, paths=["/persist"])
    a = manual_engine(engines, function)
    write_some(a)
    a.push_now()
    a.wait_durable()
    assert "network error" in a.proc.stderr() and function.faults() == []


def test_retries_run_out_then_buffer_until_the_next_tick(function, engines):
    function.fault(kind="error", status=500, count=2, paths=["/persist"])
    a = manual_engine(engines, function, max_retries=2)
    write_some(a)
    a.push_now()
    buffered = a.wait(lambda s: s["buffered_bytes"] > 0 and s["phase"] == "idle", what="buffering")
    assert buffered["durable_lsn"] == 0 and buffered["last_push"]["status"] == "failed"
    write_some(a, prefix="more")
    a.push_now()  # the next tick: the buffered payload first, then the new writes
    done = a.wait_durable()
    assert done["buffered_bytes"] == 0
    acks = [e for e in a.ledger() if e["event"] == "ack"]
    assert [(e["kind"], e["lsn_to"]) for e in acks] == [("full", 5), ("delta", 10)]


def test_429_honours_retry_after(function, engines):
    function.fault(kind="error", status=429, retry_after=1, count=1, paths=["/persist"])
    a = manual_engine(engines, function)
    write_some(a)
    started = time.monotonic()
    a.push_now()
    a.wait_durable()
    assert time.monotonic() - started >= 1.0
    assert "429 for full" in a.proc.stderr()


def test_401_alerts_and_retries_with_a_fresh_signature(function, engines):
    function.fault(kind="error", status=401, count=1, paths=["/persist"])
    a = manual_engine(engines, function)
    write_some(a)
    a.push_now()
    a.wait_durable()
    assert "auth" in alert_kinds(a)


def test_a_wrong_secret_exhausts_retries_with_auth_alerts(function, engines):
    a = manual_engine(engines, function, secret="not-the-secret", max_retries=2,
                      restore_on_boot="false")
    write_some(a)
    a.push_now()
    status = a.wait(lambda s: s["buffered_bytes"] > 0, what="buffering after 401s")
    assert status["durable_lsn"] == 0 and alert_kinds(a).count("auth") == 2


def test_a_skewed_clock_gets_real_401s_until_it_is_fixed(function, engines):
    """The clock fault: timestamps 400 s ahead fail the function's ±300 s check."""
    a = manual_engine(engines, function, max_retries=2)
    status, body, _ = a.request("POST", "/faults/clock", b'{"skew_s": 400}')
    assert status == 200 and a.status()["clock_skew_s"] == 400
    write_some(a)
    a.push_now()
    a.wait(lambda s: s["buffered_bytes"] > 0, what="401s exhausting the attempts")
    assert alert_kinds(a).count("auth") == 2 and a.status()["durable_lsn"] == 0
    assert a.request("POST", "/faults/clock", b'{"skew_s": "soon"}')[0] == 400
    a.request("POST", "/faults/clock", b'{"skew_s": 0}')
    a.push_now()
    a.wait_durable()


def test_400_is_dropped_never_retried_and_the_next_push_carries_the_writes(function, engines):
    function.fault(kind="error", status=400, count=1, paths=["/persist"])
    a = manual_engine(engines, function)
    write_some(a)
    a.push_now()
    status = a.wait(lambda s: s["last_push"] and s["last_push"]["status"] == "dropped", what="drop")
    assert status["durable_lsn"] == 0 and "dropped" in alert_kinds(a)
    assert [e["event"] for e in a.ledger()].count("dropped") == 1
    a.push_now()
    a.wait_durable()


def test_409_after_the_store_lost_the_chain_switches_to_a_full(function, engines):
    a = manual_engine(engines, function, kind="graph", strategy="delta")
    write_some(a, "graph")
    a.push_now()
    a.wait_durable()
    function.reset()  # the bucket is emptied: the chain the next delta continues is gone
    write_some(a, "graph", prefix="g", seed=2)
    a.push_now()
    a.wait_durable()
    acks = [e for e in a.ledger() if e["event"] == "ack"]
    assert [(e["kind"], e["lsn_to"]) for e in acks] == [("full", 5), ("full", 10)]
    assert "switching to a full" in a.proc.stderr()
    digest = a.digest()
    assert a.proc.stop() == 0
    shutil.rmtree(a.data_dir)
    b = manual_engine(engines, function, kind="graph", name="b", instance_id=a.ready["instance_id"])
    assert b.digest() == digest


def test_409_for_a_full_behind_another_writer_is_fenced(function, engines):
    """Two processes with one instance id: the one behind is fenced, not looping."""
    iid = f"split-{uuid.uuid4().hex[:8]}"
    a = manual_engine(engines, function, strategy="delta", instance_id=iid)
    write_some(a, n=3)
    a.push_now()
    a.wait_durable()
    b = manual_engine(engines, function, strategy="delta", instance_id=iid, name="b")
    assert b.ready["boot"] == "restored"
    write_some(b, n=5, prefix="b")
    b.push_now()
    b.wait_durable()  # the stored head is now b's, at lsn 8
    a.put("late", b"x")
    a.push_now()
    status = a.wait(lambda s: "fenced" in [x["kind"] for x in s["recent_alerts"]], what="fencing")
    assert status["durable_lsn"] == 3 and status["force_full"] and status["phase"] == "idle"
    assert "switching to a full" in a.proc.stderr()


@pytest.fixture(scope="module")
def small_function(tmp_path_factory):
    function = Function(tmp_path_factory.mktemp("small"), "--max-payload", "300000")
    yield function
    function.stop()


def test_413_splits_at_the_named_limit(small_function, engines):
    iid = f"big-{uuid.uuid4().hex[:8]}"
    a = manual_engine(engines, small_function, kind="filestore", instance_id=iid)
    write_some(a, "filestore", n=5)  # 5 x 256 KiB of random bytes: > 1.25 MB compressed
    a.push_now()
    status = a.wait_durable(timeout=30)
    assert status["learned_max_payload"] == 300000
    ack = [e for e in a.ledger() if e["event"] == "ack"][-1]
    assert ack["parts"] == -(-ack["bytes"] // 300000) >= 5
    keys = small_function.keys(f"weftkit/default/filestore/{iid}/full/")
    assert len(keys) == ack["parts"] and keys[0].endswith(f".p0001of{ack['parts']:04d}.zst")
    digest = a.digest()
    assert a.proc.stop() == 0
    shutil.rmtree(a.data_dir)
    b = manual_engine(engines, small_function, kind="filestore", name="b", instance_id=iid)
    assert b.ready["boot"] == "restored" and b.digest() == digest


def test_202_from_an_async_function_advances_the_cursor(tmp_path_factory, engines):
    function = Function(tmp_path_factory.mktemp("async"), "--async")
    try:
        iid = f"async-{uuid.uuid4().hex[:8]}"
        a = manual_engine(engines, function, kind="markdown", strategy="delta", instance_id=iid)
        write_some(a, "markdown", n=4)
        a.push_now()
        a.wait_durable()
        write_some(a, "markdown", n=2, prefix="more")
        a.push_now()
        a.wait_durable()
        acks = [e for e in a.ledger() if e["event"] == "ack"]
        assert [(e["kind"], e["status"]) for e in acks] == [("full", 202), ("delta", 202)]
        digest = a.digest()
        assert a.proc.stop() == 0
        shutil.rmtree(a.data_dir)
        deadline = time.monotonic() + 10  # 202: stored in the background, soon
        while len(function.keys(f"weftkit/default/markdown/{iid}/")) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        b = manual_engine(engines, function, kind="markdown", name="b", instance_id=iid)
        assert b.ready["boot"] == "restored" and b.digest() == digest
    finally:
        function.stop()
