"""Scale-out and recycling: replicas own their subtrees; a recycled single
replica with WEFTKIT_PERSIST_TAKEOVER=newest adopts the newest lineage."""
from __future__ import annotations

import shutil
import uuid

from .harness import engine_env, values


def subtrees(function, tenant, kind) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for key in function.keys(f"weftkit/{tenant}/{kind}/"):
        instance, rest = key.split("/")[3], key.split("/", 4)[4]
        out.setdefault(instance, []).append(rest)
    return out


def test_two_replicas_each_write_their_own_subtree(function, engines):
    tenant = f"t{uuid.uuid4().hex[:8]}"
    env = engine_env(function, tenant=tenant, strategy="delta")
    one, two = engines("vector", env, name="one"), engines("vector", env, name="two")
    assert one.ready["instance_id"] != two.ready["instance_id"]  # generated, one per volume
    data = values("vector", 8)
    for i in range(4):
        one.put(f"a{i}", data[i])
        two.put(f"b{i}", data[i + 4])
    one.wait_durable()
    two.wait_durable()
    one.put("a9", data[0])
    digests = {one.ready["instance_id"]: one.digest(), two.ready["instance_id"]: two.digest()}
    assert one.proc.stop() == 0 and two.proc.stop() == 0
    trees = subtrees(function, tenant, "vector")
    assert set(trees) == set(digests)
    assert all(any(name.startswith("full/") for name in names) for names in trees.values())
    # each replica keeps its own id on its volume; with the volume gone, the id
    # given back restores exactly that replica's subtree
    again = engines("vector", env, name="one")
    assert again.ready["instance_id"] == one.ready["instance_id"]
    assert again.ready["boot"] == "local" and again.digest() == digests[one.ready["instance_id"]]
    shutil.rmtree(two.data_dir)
    iid = two.ready["instance_id"]
    other = engines("vector", dict(env, WEFTKIT_PERSIST_INSTANCE_ID=iid), name="two")
    assert other.ready["boot"] == "restored" and other.digest() == digests[iid]

def test_default_policy_a_recycled_pod_with_a_new_id_boots_fresh(function, engines):
    tenant = f"t{uuid.uuid4().hex[:8]}"
    env = engine_env(function, tenant=tenant)
    a = engines("keyvalue", env, name="a")
    a.put("k", b"v")
    a.wait_durable()
    assert a.proc.stop() == 0
    shutil.rmtree(a.data_dir)
    b = engines("keyvalue", env, name="b")
    assert b.ready["boot"] == "fresh" and b.get("k") is None


def test_takeover_adopts_the_newest_lineage_bumps_the_epoch_and_pushes_a_full(function, engines):
    tenant = f"t{uuid.uuid4().hex[:8]}"
    env = engine_env(function, tenant=tenant, takeover="newest", strategy="delta")
    a = engines("relational", env, name="a")
    rows = values("relational", 6)
    for i, row in enumerate(rows):
        a.put(f"r{i}", row)
    a.wait_durable()
    a.delete("r0")
    digest, old = a.digest(), a.ready["instance_id"]
    assert a.proc.stop() == 0
    shutil.rmtree(a.data_dir)  # the pod is recycled: new volume, new instance id

    b = engines("relational", env, name="b")
    new = b.ready["instance_id"]
    assert new != old and b.ready["boot"] == "restored" and b.digest() == digest
    assert b.json("/recovery")["lineage"] == old
    status = b.wait(lambda s: s["durable_lsn"] == 7 and s["epoch"] == 1, what="full in epoch 1")
    assert status["cursor"] == "wkc_0001_0007"
    assert "full/wkc_000000000001_000000000007.zst" in subtrees(function, tenant, "relational")[new]
    b.put("r9", rows[0])
    b.wait_durable()
    acks = [e for e in b.ledger() if e["event"] == "ack"]
    assert [(e["kind"], e["cursor_to"]) for e in acks] == [("full", "wkc_0001_0007"),
                                                           ("delta", "wkc_0001_0008")]
