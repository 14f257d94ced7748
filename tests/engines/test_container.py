"""Container mode: each engine starts its own persistence sidecar (a WKP-1
function on loopback writing straight to the central S3 store), flushes
through it on SIGTERM, stops it cleanly, never leaves it behind, even when
SIGKILLed, and reports a sidecar that dies or does not stop cleanly."""
from __future__ import annotations

import os
import shutil
import signal
import time
import uuid

from .harness import read_ledger, values


def container_env(function, iid):
    return {"WEFTKIT_PERSIST_MODE": "container", "WEFTKIT_PERSIST_STORE_ENDPOINT": function.s3_endpoint,
            "WEFTKIT_PERSIST_STORE_BUCKET": function.bucket, "WEFTKIT_PERSIST_INSTANCE_ID": iid,
            "WEFTKIT_PERSIST_SCHEDULE": "0 0 1 1 *", "WEFTKIT_PERSIST_HEALTH_INTERVAL": "0"}


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as f:  # a zombie is dead for our purpose
        return f.read().split(")")[-1].split()[0] != "Z"


def gone_within(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_container_mode_persists_through_its_own_sidecar(function, engines):
    iid = f"ctr-{uuid.uuid4().hex[:8]}"
    a = engines("document", container_env(function, iid), name="a")
    sidecar = a.ready["sidecar"]
    assert a.ready["mode"] == "container" and sidecar["endpoint"].startswith("http://127.0.0.1:")
    assert a.ready["endpoint"] == sidecar["endpoint"] != function.endpoint
    for i, doc in enumerate(values("document", 8)):
        a.put(f"d{i}", doc)
    digest = a.digest()
    assert a.proc.stop() == 0, a.proc.stderr()  # the final flush goes through the sidecar
    assert gone_within(sidecar["pid"], 5)
    # ...then the sidecar stops cleanly: no abort at interpreter shutdown, exit status 0
    assert "Fatal Python error" not in a.proc.stderr()
    ends = [e for e in read_ledger(a.data_dir) if e["event"] == "sidecar"]
    assert [(e["clean"], e["message"].split(": ")[-1]) for e in ends] == [(True, "exit status 0")]
    keys = function.keys(f"weftkit/default/document/{iid}/")
    assert len(keys) == 1 and "/full/" in keys[0]  # the same layout as serverless mode

    shutil.rmtree(a.data_dir)
    b = engines("document", container_env(function, iid), name="b")
    assert b.ready["boot"] == "restored" and b.digest() == digest
    # either mode restores what the other stored: it is one contract and one layout
    c = engines("document", {"WEFTKIT_PERSIST_MODE": "serverless",
                             "WEFTKIT_PERSIST_ENDPOINT": function.endpoint,
                             "WEFTKIT_PERSIST_SECRET": "engine-tests-secret",
                             "WEFTKIT_PERSIST_INSTANCE_ID": iid}, name="c")
    assert c.ready["boot"] == "restored" and c.digest() == digest


def test_a_sigkilled_engine_takes_its_sidecar_with_it(function, engines):
    a = engines("keyvalue", container_env(function, f"ctr-{uuid.uuid4().hex[:8]}"))
    pid = a.ready["sidecar"]["pid"]
    assert alive(pid)
    a.proc.kill()
    assert gone_within(pid, 5)


def sidecar_ends(engine) -> list[dict]:
    return [e for e in read_ledger(engine.data_dir) if e["event"] == "sidecar"]


def test_a_sidecar_that_dies_is_reported_and_restarted_on_the_same_endpoint(function, engines):
    a = engines("keyvalue", container_env(function, f"ctr-{uuid.uuid4().hex[:8]}"))
    first = a.ready["sidecar"]
    os.kill(first["pid"], signal.SIGKILL)
    status = a.wait(lambda s: s["sidecar"]["restarts"] == 1, what="the sidecar restarted")
    assert status["sidecar"]["endpoint"] == first["endpoint"] and status["sidecar"]["pid"] != first["pid"]
    alert = [x for x in status["recent_alerts"] if x["kind"] == "sidecar"]
    assert len(alert) == 1 and "killed by signal 9 (SIGKILL)" in alert[0]["message"], alert
    assert f"persistence sidecar (pid {first['pid']}) died: killed by signal 9 (SIGKILL)" in a.proc.stderr()
    a.put("k1", b"v1")
    a.push_now()  # persistence works again through the restarted sidecar
    a.wait_durable()
    assert a.proc.stop() == 0, a.proc.stderr()
    assert [e["clean"] for e in sidecar_ends(a)] == [False, True]


def test_a_hung_sidecar_makes_the_engine_exit_non_zero_even_after_a_confirmed_flush(function, engines):
    a = engines("keyvalue", container_env(function, f"ctr-{uuid.uuid4().hex[:8]}"))
    a.put("k1", b"v1")
    a.push_now()
    a.wait_durable()
    pid = a.ready["sidecar"]["pid"]
    os.kill(pid, signal.SIGSTOP)  # it can neither answer nor act on SIGTERM
    assert a.proc.stop() == 7  # nothing left to flush, but the sidecar did not stop cleanly
    assert gone_within(pid, 5)
    err = a.proc.stderr()
    assert (f"persistence sidecar (pid {pid}) stopped: did not stop within 5 s of SIGTERM, "
            "killed by signal 9 (SIGKILL)") in err, err
    assert [e["clean"] for e in sidecar_ends(a)] == [False]


def test_a_final_flush_the_sidecar_cannot_confirm_exits_3_and_names_the_sidecar(function, engines):
    env = container_env(function, f"ctr-{uuid.uuid4().hex[:8]}")
    env.update(WEFTKIT_PERSIST_SHUTDOWN_BUDGET="2", WEFTKIT_PERSIST_BACKOFF_BASE="0.05")
    a = engines("keyvalue", env)
    pid = a.ready["sidecar"]["pid"]
    os.kill(pid, signal.SIGSTOP)
    a.put("k1", b"v1")
    assert a.proc.stop() == 3  # the final push timed out: the flush is not confirmed
    err = a.proc.stderr()
    assert f"persistence sidecar (pid {pid}) stopped: did not stop within" in err, err
    exit_entry = [e for e in read_ledger(a.data_dir) if e["event"] == "exit"][-1]
    assert exit_entry["flushed"] is False
