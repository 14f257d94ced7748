"""Engine pods on virtual time: writes, payload sizes, kills and recovery reports.

The machine is the real EngineMachine; these check what the model adds around
it (the rate process, sizes, the witness and boot reports), with SimPy time
driven by the model itself (no wall clock, no I/O).
"""
from __future__ import annotations

import pytest

from emulator.protocol.engine_config import WorkloadConfig, parse_engine_config
from emulator.scenario.loader import parse_scenario
from emulator.supervisor.fleet import Slot
from sim.model.engine import Workload
from sim.model.payloads import distinct_keys, profile
from sim.model.world import World


def test_payload_sizes_follow_each_kinds_compressibility():
    blob, page, row = profile("filestore"), profile("markdown"), profile("relational")
    assert blob.delta_bytes == pytest.approx(blob.wal_bytes, rel=0.01)  # random bytes do not shrink
    assert page.delta_bytes < page.wal_bytes / 3                          # text compresses several-fold
    assert row.delta(100) < row.delta(1000) < row.full(5000)
    assert profile("keyvalue", 1000).value_bytes == 1000                  # WORKLOAD_VALUE_BYTES


def test_distinct_keys_fill_the_key_space():
    assert distinct_keys(10, 1000) == 10
    assert distinct_keys(100_000, 1000) == 1000
    assert distinct_keys(500, 1000, had=900) > 900


def test_workload_writes_at_its_rate_with_bursts():
    config = parse_engine_config({"WEFTKIT_PERSIST_MODE": "disabled"})
    from dataclasses import replace
    w = Workload(replace(config, workload=WorkloadConfig(rate=2, burst_writes=5, burst_every_s=10)), "keyvalue")
    times = w.due(100.0, 101.0)
    assert times == [100.5, 101.0]
    assert w.count_due(100.0, 110.0) == 18 + 5  # the steady writes to 10 s, and one burst
    assert w.due(100.0, 110.0) == []            # nothing twice


SCENARIO = """
[scenario]
name = "kill-one"
description = "One engine, a kill without flush."
seed = 2
duration = "20s"

[fleet.keyvalue]
replicas = 1

[discovery]
enabled = false

[defaults.env]
WEFTKIT_PERSIST_SCHEDULE = "*/4 * * * * *"

[workload.keyvalue]
rate = 10
"""


def test_a_kill_loses_the_unpushed_tail_and_the_new_pod_restores_the_rest():
    scenario = parse_scenario(SCENARIO, "kill-one.toml")
    world = World(scenario.config, seed=2)
    pod = world.start_pod(Slot("keyvalue", 1), wipe=True)
    world.env.run(until=10.0)
    pod.accrue()  # writes are counted when the pod next looks; look now
    assert pod.state == "running" and pod.volume.lsn > 90
    durable = pod.machine.state.durable.seq
    written = pod.volume.lsn
    assert 0 < durable < written  # pushes every 4 s, writes in between
    world.kill_pod(pod)
    world.env.run(until=15.0)
    new = world.pods["keyvalue-1"]
    assert new is not pod and new.state == "running" and new.boot == "restored"
    report = world.recoveries["keyvalue-1"][-1]
    assert report["recovered_lsn"] == durable
    assert report["lost_count"] == written - durable and report["lost_acknowledged"] == 0
    kinds = [e["kind"] for e in world.events]
    assert kinds.count("engine.started") == 2 and "engine.killed" in kinds and "engine.recycled" in kinds
    assert all(e["lsn"] <= durable for e in world.witness["keyvalue-1"] if "w" in e and e["at"] < 10)


def test_sigterm_flushes_everything_and_exits_zero():
    scenario = parse_scenario(SCENARIO, "kill-one.toml")
    world = World(scenario.config, seed=2)
    pod = world.start_pod(Slot("keyvalue", 1), wipe=True)
    world.env.run(until=9.0)
    gone = world.stop_pod(pod)
    world.env.run(until=gone)
    assert pod.exit_code == 0 and pod.machine.state.durable.seq == pod.volume.lsn
    assert world.events[-1]["kind"] == "engine.stopped" and world.events[-1]["data"]["exit_code"] == 0


def test_a_delta_the_wal_no_longer_holds_is_cut_as_a_full_as_live():
    # lambda-request-limit on a live run's clock: filestore writes 2 MiB/s, so the WAL passes its
    # 8 MiB compaction bound while each push is in flight; the compaction keeps only what follows
    # the cursor the machine had then, the next delta's range is gone, and the engine cuts a full
    # (the live run made the same fulls at the same lsns: 31, 63, 95, 127, 144).
    from emulator.scenario.library import resolve
    from sim.runner import simulate
    text = resolve("lambda-request-limit").read_text() + "\n[sim]\nclock_at_zero = 1796049120.1\n"
    run = simulate(parse_scenario(text, "lambda-request-limit.toml"))
    acks = [(w["ack"], w["snapshot"]) for w in run.evidence.witness["filestore-1"] if "ack" in w]
    assert acks[:5] == [(31, "full"), (63, "full"), (95, "full"), (127, "full"), (144, "full")]


def test_a_small_payload_is_priced_at_its_own_compression_not_the_samples():
    # A 20-write keyvalue delta compresses less per write than the 64-write sample: the live engine
    # pushed 1,039 bytes for it (sim_vs_live, container-concurrency); pricing by the whole sample's
    # ratio said 971.
    kv = profile("keyvalue")
    assert kv.delta(20) == pytest.approx(1039, rel=0.02)
    assert kv.delta(1) < kv.delta(2) < kv.delta(20) < kv.delta(64) < kv.delta(65)
    n = kv.delta_points[-1][0]
    assert kv.delta(n) == round(kv.overhead + kv.delta_bytes * n)  # joined to the rate above it
    assert kv.full(3) > kv.full(0) == kv.overhead


def test_deletes_keep_the_state_smaller_than_the_writes_made():
    # rolling-recycle writes vector rows with deletes = 0.1: live, a full at lsn 46 held about 33
    # rows; counting every operation as a write put 45 in it.
    assert distinct_keys(46, 2000, deletes=0.1) == 36
    assert distinct_keys(46, 2000) == 45 and distinct_keys(46, 2000, deletes=0.0) == 45
    assert distinct_keys(10**6, 2000, deletes=0.1) == round(0.8 * 2000 / 0.9)  # the steady state
    assert distinct_keys(10, 2000, had=5, deletes=0.6) < 5                    # more deletes than writes
