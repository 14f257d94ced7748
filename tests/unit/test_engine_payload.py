"""The engines' self-delimiting payload: full + deltas concatenated, compressed
piecewise, decompressed as one stream, replay record by record."""
from __future__ import annotations

import pytest

from emulator.protocol.codec import Encoding
from emulator.protocol.engine_payload import (FrameReader, PayloadError, Record, Replay,
                                              delta_frames, full_frames, record_frame)


class DictSink:
    def __init__(self):
        self.data = {}

    def reset(self):
        self.data.clear()

    def apply(self, rec):
        if rec.value is None:
            self.data.pop(rec.key, None)
        else:
            self.data[rec.key] = rec.value


def replay(blob: bytes, chunk: int = 7, **kw):
    sink, reader = DictSink(), FrameReader()
    rep = Replay(sink, **kw)
    for i in range(0, len(blob), chunk):
        rep.feed(reader.feed(blob[i:i + chunk]))
    reader.close()
    rep.close()
    return sink.data, rep


FULL = b"".join(full_frames("vector", 0, 3, [Record(1, "a", b"\x00" * 8), Record(3, "b", b"B")]))
D1 = b"".join(delta_frames(3, 5, [Record(4, "a", b"A2"), Record(5, "b", None)]))
D2 = b"".join(delta_frames(5, 6, [Record(6, "c", b"")]))


def test_full_then_deltas_replay_in_order():
    data, rep = replay(FULL + D1 + D2)
    assert data == {"a": b"A2", "c": b""}
    assert (rep.lsn, rep.fulls, rep.deltas, rep.records) == (6, 1, 2, 5)


@pytest.mark.parametrize("encoding", list(Encoding))
def test_piecewise_compression_concatenates(encoding):
    body = b"".join(encoding.compress(p) for p in (FULL, D1, D2))
    # a split push: parts are byte ranges of one compressed body, rejoined in order
    parts = [body[i:i + 13] for i in range(0, len(body), 13)]
    data, rep = replay(encoding.decompress(b"".join(parts)))
    assert data == {"a": b"A2", "c": b""} and rep.lsn == 6


def test_a_second_full_resets_the_state():
    later = b"".join(full_frames("vector", 1, 9, [Record(9, "z", b"Z")]))
    data, rep = replay(FULL + D1 + later)
    assert data == {"z": b"Z"} and rep.lsn == 9 and rep.epoch == 1


@pytest.mark.parametrize("blob,message", [
    (FULL + D2, "delta from lsn 5 but the state is at lsn 3"),
    (D1, "delta from lsn 3 but the state is at lsn 0"),
    (FULL[:-3], "ends inside a frame"),
    (FULL[:-27], "ends inside a full"),
    (FULL.replace(b"B", b"C"), "CRC mismatch"),
    (b"XX" + FULL[2:], "bad frame magic"),
    (record_frame(Record(1, "k", b"v")), "record outside a full or delta"),
])
def test_broken_payloads_are_refused_with_a_reason(blob, message):
    with pytest.raises(PayloadError, match=message):
        replay(blob)


def test_kind_mismatch_is_refused():
    with pytest.raises(PayloadError, match="'vector' engine, not 'markdown'"):
        replay(FULL, kind="markdown")


def test_delta_records_must_lie_in_their_range():
    bad = b"".join(delta_frames(3, 4, [Record(7, "a", b"x")]))
    with pytest.raises(PayloadError, match=r"outside \(3, 4\]"):
        replay(FULL + bad)


def test_wal_mode_reads_bare_records_in_sequence():
    wal = record_frame(Record(4, "a", b"1")) + record_frame(Record(5, "a", None))
    data, rep = replay(FULL + wal, bare=True)
    assert data == {"b": b"B"} and rep.lsn == 5
    with pytest.raises(PayloadError, match="does not follow"):
        replay(FULL + record_frame(Record(9, "a", b"1")), bare=True)


def test_reader_reports_how_much_was_whole():
    reader = FrameReader()
    frames = reader.feed(FULL + D1[:10])
    assert len(frames) == 4 and reader.consumed == len(FULL) and reader.pending == 10
