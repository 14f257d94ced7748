"""Object keys: exact format, round trip, foreign keys ignored, listing order."""
import random

import pytest

from emulator.protocol import layout
from emulator.protocol.codec import Encoding
from emulator.protocol.cursor import MAX_FIELD, Cursor
from emulator.protocol.errors import MalformedRequest
from emulator.protocol.headers import Part
from emulator.protocol.restore_plan import plan_restore

PREFIX = "weftkit/default/relational/i-1/"


def test_exact_key_format():
    assert layout.object_key("default", "relational", "i-1", "full", None, Cursor(0, 24),
                             Encoding.ZSTD) == PREFIX + "full/wkc_000000000000_000000000024.zst"
    assert layout.object_key("default", "relational", "i-1", "delta", Cursor(0, 18), Cursor(0, 24),
                             Encoding.GZIP, Part(2, 3)) == (
        PREFIX + "delta/wkc_000000000000_000000000018_to_wkc_000000000000_000000000024.p0002of0003.gz")
    assert layout.object_key("t", "graph", "x", "full", None, Cursor(1, 12345), Encoding.NONE,
                             Part(10, 9999)) == (
        "weftkit/t/graph/x/full/wkc_000000000001_000000012345.p0010of9999.bin")
    assert layout.claim_key("default", "relational", "i-1") == PREFIX + "claim.json"


CASES = [("full", None, Cursor(0, 24)), ("full", None, Cursor(MAX_FIELD, MAX_FIELD)),
         ("delta", Cursor(0, 18), Cursor(0, 24)), ("delta", Cursor(3, 9999), Cursor(3, 10000))]


@pytest.mark.parametrize("kind, cursor_from, cursor_to", CASES)
@pytest.mark.parametrize("encoding", list(Encoding))
@pytest.mark.parametrize("part", [None, Part(1, 1), Part(1, 2), Part(7, 9999)])
def test_object_key_parse_key_round_trip(kind, cursor_from, cursor_to, encoding, part):
    key = layout.object_key("acme", "vector", "pod.7", kind, cursor_from, cursor_to, encoding, part)
    obj = layout.parse_key(key, size=5, etag="e", stored_at=12.5)
    assert obj == layout.StoredObject(key=key, instance_id="pod.7", kind=kind, cursor_from=cursor_from,
                                      cursor_to=cursor_to, encoding=encoding, part=part, size=5,
                                      etag="e", stored_at=12.5)


Z = "wkc_000000000000_0000000000"


@pytest.mark.parametrize("key", [
    PREFIX + "claim.json",
    PREFIX.rstrip("/"),
    PREFIX,
    "other/default/relational/i-1/full/" + Z + "24.zst",          # foreign root
    "weftkit/default/relational/full/" + Z + "24.zst",            # no instance level
    PREFIX + "full/" + Z + "24.lz4",                              # unknown extension
    PREFIX + "full/" + Z + "24",                                  # no extension
    PREFIX + "full/" + Z + "24.zst.tmp",
    PREFIX + "full/wkc_0000_0024.zst",                            # text form, not key form
    PREFIX + "snapshots/" + Z + "24.zst",
    PREFIX + "full/x/" + Z + "24.zst",                            # nested
    PREFIX + "full/" + Z + "24.p1of2.zst",                        # part not four digits
    PREFIX + "full/" + Z + "24.P0001of0002.zst",
    PREFIX + "full/" + Z + "\u0662\u0664.zst",                    # non-ASCII digits
    PREFIX + "full/" + Z + "18_to_" + Z + "24.zst",               # a full has no start
    PREFIX + "delta/" + Z + "24.zst",                             # a delta must have one
    PREFIX + "delta/" + Z + "24_to_" + Z + "24.zst",              # empty delta
    PREFIX + "delta/" + Z + "30_to_" + Z + "24.zst",              # backwards delta
    "",
    "weftkit",
])
def test_parse_key_ignores_keys_that_are_not_snapshots(key):
    assert layout.parse_key(key) is None


def test_stray_keys_do_not_break_the_planner():
    """A hand-edited bucket: stray names are ignored, the real chain restores."""
    keys = [PREFIX + "full/" + Z + "10.zst", PREFIX + "delta/" + Z + "10_to_" + Z + "20.zst",
            PREFIX + "delta/" + Z + "30.zst", PREFIX + "full/" + Z + "05_to_" + Z + "40.zst",
            PREFIX + "claim.json", PREFIX + "notes.txt"]
    objects = [o for o in map(layout.parse_key, keys) if o is not None]
    plan = plan_restore(objects)
    assert plan.cursor == Cursor(0, 20)
    assert [o.key for o in plan.objects] == keys[:2]


@pytest.mark.parametrize("args", [("../x", "relational", "i"), ("t", "Relational", "i"),
                                  ("t", "relational", "a/b"), ("t", "relational", ".."),
                                  ("", "relational", "i"), ("t", "relational", "")])
def test_prefixes_refuse_escaping_values(args):
    with pytest.raises(MalformedRequest):
        layout.instance_prefix(*args)
    with pytest.raises(MalformedRequest):
        layout.object_key(*args, "full", None, Cursor(0, 1), Encoding.ZSTD)


def test_engine_prefix():
    assert layout.engine_prefix("default", "relational") == "weftkit/default/relational/"
    assert layout.instance_prefix("default", "relational", "i-1") == PREFIX


def _random_chain(rng: random.Random, length: int) -> list[tuple[Cursor, Cursor]]:
    """Contiguous deltas with jumps of every size, crossing 9999 -> 10000 and more."""
    at, out = Cursor(rng.randint(0, 2), rng.randint(9000, 9990)), []
    for _ in range(length):
        step = rng.choice([1, 7, 500, 10**4, 10**6, 10**9])
        nxt = at.advance(step)
        out.append((at, nxt))
        at = nxt
    return out


def test_sorted_delta_keys_are_chain_order():
    rng = random.Random(11)
    for _ in range(50):
        chain = _random_chain(rng, 30)
        keys = [layout.object_key("t", "relational", "i", "delta", f, t, Encoding.ZSTD)
                for f, t in chain]
        shuffled = keys[:]
        rng.shuffle(shuffled)
        assert sorted(shuffled) == keys


def test_sorted_full_keys_are_cursor_order():
    rng = random.Random(12)
    cursors = sorted({Cursor(rng.randint(0, 3), rng.randint(0, 10 ** rng.randint(1, 12) - 1))
                      for _ in range(500)})
    keys = [layout.object_key("t", "relational", "i", "full", None, c, Encoding.GZIP) for c in cursors]
    assert sorted(keys) == keys


def test_sorted_part_keys_are_part_order():
    keys = [layout.object_key("t", "relational", "i", "full", None, Cursor(0, 5), Encoding.ZSTD,
                              Part(i, 1200)) for i in range(1, 1201)]
    assert sorted(keys) == keys


def test_listing_of_an_instance_replays_in_plan_order():
    """Within each folder a sorted listing is replay order; the plan puts the full first."""
    rng = random.Random(13)
    chain = _random_chain(rng, 20)
    base = chain[0][0]
    full_key = layout.object_key("t", "relational", "i", "full", None, base, Encoding.ZSTD)
    delta_keys = [layout.object_key("t", "relational", "i", "delta", f, t, Encoding.ZSTD)
                  for f, t in chain]
    listing = sorted(delta_keys + [full_key])
    plan = plan_restore([layout.parse_key(k) for k in listing])
    replay = [o.key for o in plan.objects]
    assert replay == [full_key] + [k for k in listing if "/delta/" in k]
