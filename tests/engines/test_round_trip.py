"""Every kind: boot empty, write, push, SIGTERM, lose the volume, boot, same state.
And every compression, checked down to the objects in S3."""
from __future__ import annotations

import shutil
import uuid

import pytest

from emulator.protocol.names import ENGINE_KINDS

from .harness import engine_env, read_ledger, values

COUNT = {"filestore": 5, "markdown": 20}


def last(entries, event):
    return [e for e in entries if e["event"] == event][-1]


@pytest.mark.parametrize("kind", ENGINE_KINDS)
def test_state_survives_sigterm_and_a_lost_volume(kind, function, engines):
    env = engine_env(function, instance_id=f"rt-{kind}-{uuid.uuid4().hex[:8]}")
    a = engines(kind, env, name="a")
    assert (a.ready["kind"], a.ready["boot"], a.ready["mode"]) == (kind, "fresh", "serverless")
    data = values(kind, COUNT.get(kind, 40))
    for i, value in enumerate(data):
        a.put(f"k{i}", value)
    a.put("k1", data[0])  # an overwrite
    a.delete("k2")
    pushed = a.wait_durable()
    assert pushed["last_push"]["status"] == 200
    a.put("after-push", data[-1])  # left for the final flush (or the next tick)
    digest, lsn = a.digest(), a.status()["lsn"]
    assert a.proc.stop() == 0
    ledger = read_ledger(a.data_dir)
    exit_entry = last(ledger, "exit")
    assert exit_entry["flushed"] and exit_entry["lsn"] == lsn
    assert last(ledger, "ack")["lsn_to"] == lsn

    shutil.rmtree(a.data_dir)
    b = engines(kind, env, name="b")
    assert b.ready["boot"] == "restored" and b.ready["cursor"] == last(ledger, "ack")["cursor_to"]
    assert b.digest() == digest and b.get("k2") is None and b.get("k1") == data[0]
    recovery = b.json("/recovery")
    assert recovery["lsn"] == lsn and recovery["records"] == len(data)
    assert b.proc.stop() == 0


@pytest.mark.parametrize("compression,ext", [("zstd", "zst"), ("gzip", "gz"), ("none", "bin")])
def test_each_compression_is_stored_and_restored(compression, ext, function, engines):
    iid = f"cz-{compression}-{uuid.uuid4().hex[:8]}"
    env = engine_env(function, instance_id=iid, compression=compression, strategy="delta")
    a = engines("markdown", env, name="a")
    for i, value in enumerate(values("markdown", 12)):
        a.put(f"page{i}", value)
    a.wait_durable()
    a.put("page0", b"# rewritten\n")
    digest = a.digest()
    assert a.proc.stop() == 0
    keys = function.keys(f"weftkit/default/markdown/{iid}/")
    assert keys and all(k.endswith("." + ext) for k in keys)
    assert any("/full/" in k for k in keys)
    shutil.rmtree(a.data_dir)
    b = engines("markdown", env, name="b")
    assert b.ready["boot"] == "restored" and b.digest() == digest


def test_a_chain_of_mixed_compressions_restores(function, engines):
    """COMPRESSION changed between incarnations: the function re-encodes the chain."""
    iid = f"mix-{uuid.uuid4().hex[:8]}"
    a = engines("document", engine_env(function, instance_id=iid, strategy="delta",
                                       compression="gzip"), name="a")
    for i, value in enumerate(values("document", 10)):
        a.put(f"d{i}", value)
    a.wait_durable()
    assert a.proc.stop() == 0
    b = engines("document", engine_env(function, instance_id=iid, strategy="delta",
                                       compression="zstd"), name="a")  # same volume
    assert b.ready["boot"] == "local"
    b.put("d99", values("document", 1, seed=9)[0])
    b.wait_durable()
    digest = b.digest()
    assert b.proc.stop() == 0
    encodings = {k.rsplit(".", 1)[1] for k in function.keys(f"weftkit/default/document/{iid}/")}
    assert encodings == {"gz", "zst"}
    shutil.rmtree(b.data_dir)
    c = engines("document", engine_env(function, instance_id=iid), name="c")
    assert c.ready["boot"] == "restored" and c.digest() == digest
