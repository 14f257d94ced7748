"""The write ledger proves the loss bound: after SIGKILL only the writes after the
last acknowledged push are missing, and the engine names them. Also what
happens when the shutdown budget runs out, and when restore cannot succeed."""
from __future__ import annotations

import shutil
import signal
import time
import uuid

from .harness import engine_env, read_ledger, values

MANUAL = "0 0 1 1 *"


def test_sigkill_loses_exactly_the_writes_after_the_last_acknowledged_push(function, engines, tmp_path):
    iid = f"kill-{uuid.uuid4().hex[:8]}"
    env = engine_env(function, instance_id=iid, schedule=MANUAL, strategy="delta",
                     WEFTKIT_ENGINE_WITNESS_DIR=tmp_path / "witness")
    a = engines("relational", env, name="a")
    rows = values("relational", 30)
    writes = {}  # lsn -> (key, value or None): the client's own record of acknowledged writes
    for i in range(10):
        writes[a.put(f"row{i}", rows[i])] = (f"row{i}", rows[i])
    writes[a.delete("row3")] = ("row3", None)
    a.push_now()
    a.wait_durable()
    for i in range(10, 20):
        writes[a.put(f"row{i}", rows[i])] = (f"row{i}", rows[i])
    writes[a.put("row0", rows[25])] = ("row0", rows[25])  # an overwrite after the push
    writes[a.delete("row5")] = ("row5", None)              # a delete after the push
    a.push_now()
    a.wait_durable()
    for i in range(20, 24):                                 # never pushed
        writes[a.put(f"row{i}", rows[i])] = (f"row{i}", rows[i])
    writes[a.put("row1", rows[26])] = ("row1", rows[26])
    writes[a.delete("row10")] = ("row10", None)
    assert a.proc.kill() == -signal.SIGKILL

    acked = max(e["lsn_to"] for e in read_ledger(a.data_dir) if e["event"] == "ack")
    assert acked == 23 and max(writes) == 29
    shutil.rmtree(a.data_dir)
    b = engines("relational", env, name="b")
    assert b.ready["boot"] == "restored" and b.ready["lsn"] == acked

    expected = {}
    for lsn in sorted(writes):
        if lsn <= acked:
            key, value = writes[lsn]
            expected[key] = value
    for key in {k for k, _ in writes.values()}:
        assert b.get(key) == expected.get(key), key

    report = b.json("/recovery")
    lost = [(w["lsn"], w["key"]) for w in report["lost"]]
    assert lost == [(lsn, writes[lsn][0]) for lsn in sorted(writes) if lsn > acked]
    assert report["recovered_lsn"] == acked == report["last_acknowledged_lsn"]
    assert report["lost_acknowledged"] == 0 and report["mismatched"] == []
    assert b.status()["recovery"]["lost_count"] == 6

    # the witness forgot the lost tail: new writes reuse those lsns without confusion
    assert b.put("fresh", rows[29]) == acked + 1
    assert b.proc.stop() == 0
    c = engines("relational", env, name="b")  # same volume: nothing lost this time
    assert c.json("/recovery")["lost_count"] == 0 and c.get("fresh") == rows[29]


def test_shutdown_budget_running_out_exits_3_and_names_the_unacknowledged_writes(function, engines):
    a = engines("inmemory", engine_env(function, instance_id=f"budget-{uuid.uuid4().hex[:8]}",
                                       schedule=MANUAL, shutdown_budget=1.5, max_retries=50))
    for i, value in enumerate(values("inmemory", 6)):
        a.put(f"s{i}", value)
    function.fault(kind="outage", count=500, paths=["/persist"])
    started = time.monotonic()
    a.proc.signal(signal.SIGTERM)
    assert a.proc.wait(20) == 3
    assert time.monotonic() - started < 6
    stderr = a.proc.stderr()
    assert "shutdown budget ran out" in stderr and "writes lsn 1..6 were not acknowledged" in stderr
    exit_entry = [e for e in read_ledger(a.data_dir) if e["event"] == "exit"][-1]
    assert exit_entry["flushed"] is False and exit_entry["unacknowledged"] == [1, 6]


def test_writes_are_refused_while_the_final_flush_runs(function, engines):
    a = engines("keyvalue", engine_env(function, instance_id=f"stop-{uuid.uuid4().hex[:8]}",
                                       schedule=MANUAL))
    a.put("k", b"v")
    function.fault(kind="latency", ms=800, count=1, paths=["/persist"])
    a.proc.signal(signal.SIGTERM)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        status, body, _ = a.request("PUT", "/records/k2", b"v2")
        if status == 503:
            break
        time.sleep(0.02)
    assert status == 503 and b"shutting down" in body
    assert a.proc.wait(20) == 0
    assert [e for e in read_ledger(a.data_dir) if e["event"] == "exit"][-1]["flushed"]


def test_restore_that_keeps_failing_exits_4_without_serving(function, engines):
    function.fault(kind="error", status=503, count=5, paths=["/restore"])
    a = engines("vector", engine_env(function, max_retries=2), expect_ready=False)
    assert a.ready is None and a.proc.wait(20) == 4
    assert "cannot restore, refusing to serve" in a.proc.stderr()
