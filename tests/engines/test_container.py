"""Container mode: each engine starts its own persistence sidecar (a WKP-1
function on loopback writing straight to the central S3 store), flushes
through it on SIGTERM, and never leaves it behind, even when SIGKILLed."""
from __future__ import annotations

import os
import shutil
import time
import uuid

from .harness import values


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
    assert a.proc.stop() == 0  # the final flush goes through the sidecar, then it is stopped
    assert gone_within(sidecar["pid"], 5)
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
