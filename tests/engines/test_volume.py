"""The volume on real files (WAL replay, torn tails, compaction that keeps what
deltas need, atomic install) and, through real processes, compaction and the
workload generator under persistence."""
from __future__ import annotations

import shutil
import uuid

import pytest

from emulator.protocol.cursor import Cursor
from emulator.protocol.engine_events import PersistState
from emulator.protocol.engine_payload import FrameReader, PayloadError, Record, parse_record
from engines_fake.records import RecordSet
from engines_fake.volume import Volume

from .harness import engine_env, read_ledger, values


def records(frames: list[bytes]) -> list[Record]:
    return [parse_record(f) for f in FrameReader().feed(b"".join(frames))]


def test_wal_replays_after_reopen_and_a_torn_tail_is_cut(tmp_path):
    vol = Volume(tmp_path / "v", "keyvalue").open()
    assert vol.empty
    for i in range(5):
        vol.append(f"k{i}", b"v%d" % i)
    vol.append("k1", None)
    vol.close()
    wal = tmp_path / "v" / "wal.wkf"
    whole = wal.stat().st_size
    with open(wal, "ab") as f:
        f.write(b"WKP\x00\x00\x00\x09half")  # a frame cut off by a crash mid-append
    again = Volume(tmp_path / "v", "keyvalue").open()
    assert again.lsn == 6 and not again.empty and "k1" not in again.records
    assert wal.stat().st_size == whole
    lsn, _ = again.append("k9", b"x")
    assert lsn == 7 and [r.key for r in records(again.wal_frames(5, 7))] == ["k1", "k9"]


def test_a_damaged_wal_frame_keeps_the_valid_prefix(tmp_path):
    vol = Volume(tmp_path / "v", "keyvalue").open()
    for i in range(4):
        vol.append(f"k{i}", b"value-%d" % i)
    vol.close()
    wal = tmp_path / "v" / "wal.wkf"
    data = bytearray(wal.read_bytes())
    data[len(data) // 2 + 8] ^= 0xFF  # flip a byte inside the third frame
    wal.write_bytes(bytes(data))
    again = Volume(tmp_path / "v", "keyvalue").open()
    assert again.lsn == 2 and again.records.keys() == ["k0", "k1"]
    assert again.append("k9", b"x")[0] == 3


def test_one_engine_per_volume(tmp_path, engines):
    a = engines("keyvalue", {})
    b = engines("keyvalue", {}, expect_ready=False)
    assert b.proc.wait(10) == 5 and "in use by another engine" in b.proc.stderr()
    assert a.proc.stop() == 0


def test_compaction_keeps_the_records_deltas_still_need(tmp_path):
    vol = Volume(tmp_path / "v", "graph").open()
    for i in range(10):
        vol.append(f"e{i}", b'{"from":"a","to":"b"}')
    vol.compact(retain_after=6)
    assert vol.wal_frames(6, 10) is not None and vol.wal_frames(5, 10) is None
    digest = vol.records.digest()
    vol.close()
    again = Volume(tmp_path / "v", "graph").open()
    assert (again.lsn, again.snapshot_lsn, again.records.digest()) == (10, 10, digest)
    assert again.wal_lsns == [7, 8, 9, 10]  # kept for deltas, not re-applied


def test_install_replaces_the_state_and_state_files_round_trip(tmp_path):
    vol = Volume(tmp_path / "v", "inmemory").open()
    vol.append("old", b"1")
    restored = RecordSet()
    restored.apply(Record(40, "new", b"2"))
    vol.install(restored, 41, 2)
    assert vol.lsn == 41 and "old" not in vol.records and vol.wal_lsns == []
    vol.save_state(PersistState(durable=Cursor(2, 41), epoch=2, max_payload=1000))
    vol.close()
    again = Volume(tmp_path / "v", "inmemory").open()
    assert again.lsn == 41 and again.records.get("new") == (40, b"2")
    assert again.load_state() == PersistState(durable=Cursor(2, 41), epoch=2, max_payload=1000)


def test_a_snapshot_of_another_kind_is_refused(tmp_path):
    vol = Volume(tmp_path / "v", "vector").open()
    vol.append("x", b"\0\0\0\0")
    vol.compact(1)
    vol.close()
    with pytest.raises(PayloadError, match="'vector' engine"):
        Volume(tmp_path / "v", "markdown").open()


def test_compaction_under_persistence_keeps_deltas_cuttable(function, engines):
    iid = f"cmp-{uuid.uuid4().hex[:8]}"
    env = engine_env(function, instance_id=iid, strategy="delta", schedule="0 0 1 1 *",
                     WEFTKIT_ENGINE_COMPACT_BYTES=4096)
    a = engines("inmemory", env, name="a")
    for i, v in enumerate(values("inmemory", 60)):
        a.put(f"s{i % 7}", v)
    a.push_now()
    a.wait_durable()
    for i, v in enumerate(values("inmemory", 120, seed=2)):  # several compactions before the push
        a.put(f"s{i % 9}", v)
    a.push_now()
    a.wait_durable()
    acks = [e for e in a.ledger() if e["event"] == "ack"]
    assert [e["kind"] for e in acks] == ["full", "delta"] and acks[1]["lsn_from"] == 60
    digest = a.digest()
    assert a.proc.stop() == 0
    shutil.rmtree(a.data_dir)
    b = engines("inmemory", env, name="b")
    assert b.digest() == digest and b.ready["lsn"] == 180


def test_the_workload_generator_writes_at_its_rate_and_nothing_is_lost(function, engines):
    env = engine_env(function, instance_id=f"wl-{uuid.uuid4().hex[:8]}",
                     WEFTKIT_ENGINE_WORKLOAD_RATE=100, WEFTKIT_ENGINE_WORKLOAD_SEED=3)
    a = engines("graph", env, name="a")
    a.wait(lambda s: s["lsn"] >= 60 and s["durable_lsn"] > 0, what="generated writes pushed")
    assert a.proc.stop() == 0  # the generator stops with writes; the final flush takes the rest
    flushed = [e for e in read_ledger(a.data_dir) if e["event"] == "exit"][-1]
    assert flushed["flushed"] and flushed["lsn"] >= 60
    shutil.rmtree(a.data_dir)
    b = engines("graph", env, name="b")
    assert b.ready["lsn"] == flushed["lsn"] and b.status()["records"] > 0
