"""The restore planner: which full, which deltas, and when to refuse (409)."""
import random

import pytest

from emulator.protocol.codec import Encoding
from emulator.protocol.errors import ChainGap
from emulator.protocol.headers import Part
from emulator.protocol.restore_plan import chain_head, complete_snapshots, plan_restore

from .listing import c, delta, full, parts


def keys(plan):
    return [o.key for o in plan.objects]


def test_nothing_stored():
    assert plan_restore([]) is None
    assert chain_head([]) is None


def test_only_deltas_is_a_gap_not_a_fresh_start():
    """Deltas without their full mean lost state; answering 204 would boot an engine empty."""
    with pytest.raises(ChainGap) as info:
        plan_restore([delta(0, 10), delta(10, 20)])
    assert info.value.next_from == c(0) and info.value.restorable is None


def test_single_full():
    plan = plan_restore([full(24)])
    assert plan.cursor == c(24) and plan.deltas == ()
    assert plan.full.cursor_to == c(24)


def test_newest_full_wins_by_cursor_not_storage_time():
    objects = [full(10, stored_at=300), full(30, stored_at=100), full(20, stored_at=200)]
    assert plan_restore(objects).full.cursor_to == c(30)


def test_equal_cursor_fulls_later_stored_wins():
    early = full(30, encoding=Encoding.GZIP, stored_at=100)
    late = full(30, encoding=Encoding.ZSTD, stored_at=200)
    for listing in ([early, late], [late, early]):
        assert plan_restore(listing).full.objects == (late,)


def test_full_then_contiguous_deltas_in_chain_order():
    objects = [delta(20, 30), full(10), delta(30, 45), delta(10, 20)]
    plan = plan_restore(objects)
    assert [(d.cursor_from, d.cursor_to) for d in plan.deltas] == [(c(10), c(20)), (c(20), c(30)),
                                                                    (c(30), c(45))]
    assert plan.cursor == c(45)
    assert keys(plan) == [full(10).key, delta(10, 20).key, delta(20, 30).key, delta(30, 45).key]


def test_shuffled_listing_gives_the_same_plan():
    rng = random.Random(5)
    objects = [full(0)] + [delta(i, i + 1) for i in range(200)] + [full(100, stored_at=-1)]
    expected = plan_restore(objects)
    for _ in range(20):
        rng.shuffle(objects)
        assert plan_restore(objects) == expected
    assert expected.full.cursor_to == c(100) and expected.cursor == c(200)
    assert len(expected.deltas) == 100


def test_gap_is_a_409_naming_both_cursors():
    objects = [full(10), delta(10, 20), delta(30, 40), delta(40, 50)]
    with pytest.raises(ChainGap) as info:
        plan_restore(objects)
    err = info.value
    assert err.status_hint == 409
    assert (err.restorable, err.next_from) == (c(20), c(30))
    assert err.to_json()["restorable_cursor"] == "wkc_0000_0020"
    assert err.to_json()["next_delta_from"] == "wkc_0000_0030"


def test_gap_right_after_the_full():
    with pytest.raises(ChainGap) as info:
        plan_restore([full(10), delta(15, 20)])
    assert (info.value.restorable, info.value.next_from) == (c(10), c(15))


def test_gap_names_the_nearest_next_start():
    with pytest.raises(ChainGap) as info:
        plan_restore([full(10), delta(50, 60), delta(30, 40)])
    assert info.value.next_from == c(30)


def test_prefix_is_restorable_when_asked_explicitly():
    objects = [full(10), delta(10, 20), delta(30, 40)]
    with pytest.raises(ChainGap) as info:
        plan_restore(objects)
    plan = plan_restore(objects, up_to=info.value.restorable)
    assert plan.cursor == c(20)


class TestPointInTime:
    OBJECTS = [full(10, stored_at=1), delta(10, 20), delta(20, 30), full(30, stored_at=2),
               delta(30, 40), delta(40, 50)]

    def test_latest(self):
        plan = plan_restore(self.OBJECTS)
        assert plan.full.cursor_to == c(30) and plan.cursor == c(50)

    def test_up_to_picks_the_older_full_and_truncates_deltas(self):
        plan = plan_restore(self.OBJECTS, up_to=c(20))
        assert plan.full.cursor_to == c(10)
        assert [d.cursor_to for d in plan.deltas] == [c(20)]

    def test_up_to_is_inclusive(self):
        assert plan_restore(self.OBJECTS, up_to=c(40)).cursor == c(40)
        assert plan_restore(self.OBJECTS, up_to=c(30)).deltas == ()  # the full at 30 itself

    def test_up_to_inside_a_delta_stops_before_it(self):
        plan = plan_restore(self.OBJECTS, up_to=c(45))
        assert plan.full.cursor_to == c(30) and plan.cursor == c(40)

    def test_up_to_before_any_full(self):
        assert plan_restore(self.OBJECTS, up_to=c(9)) is None

    def test_gap_beyond_up_to_does_not_matter(self):
        objects = [full(10), delta(10, 20), delta(30, 40)]
        assert plan_restore(objects, up_to=c(25)).cursor == c(20)


def test_full_only_returns_the_newest_full_alone():
    objects = TestPointInTime.OBJECTS
    plan = plan_restore(objects, full_only=True)
    assert plan.full.cursor_to == c(30) and plan.deltas == ()
    assert plan_restore(objects, full_only=True, up_to=c(25)).full.cursor_to == c(10)
    # a gap does not matter when only the full is wanted
    assert plan_restore([full(10), delta(20, 30)], full_only=True).cursor == c(10)


class TestParts:
    def test_complete_parts_form_one_snapshot_in_part_order(self):
        pieces = parts(lambda **kw: full(30, **kw), 3)
        plan = plan_restore(list(reversed(pieces)))
        assert plan.full.objects == tuple(pieces)
        assert plan.size == 30

    def test_incomplete_full_is_invisible(self):
        pieces = parts(lambda **kw: full(30, **kw), 3, present=[1, 3])
        plan = plan_restore([full(10), *pieces])
        assert plan.full.cursor_to == c(10)
        assert plan_restore(pieces) is None
        assert chain_head([full(10), *pieces]) == c(10)

    def test_incomplete_delta_is_invisible(self):
        pieces = parts(lambda **kw: delta(20, 30, **kw), 2, present=[1])
        plan = plan_restore([full(10), delta(10, 20), *pieces])
        assert plan.cursor == c(20)
        assert chain_head([full(10), delta(10, 20), *pieces]) == c(20)

    def test_incomplete_delta_in_the_middle_is_a_gap(self):
        pieces = parts(lambda **kw: delta(20, 30, **kw), 2, present=[2])
        with pytest.raises(ChainGap) as info:
            plan_restore([full(10), delta(10, 20), *pieces, delta(30, 40)])
        assert (info.value.restorable, info.value.next_from) == (c(20), c(30))

    def test_complete_delta_parts_join_the_chain(self):
        pieces = parts(lambda **kw: delta(20, 30, **kw), 2)
        plan = plan_restore([full(10), delta(10, 20), *pieces, delta(30, 40)])
        assert plan.cursor == c(40)
        assert keys(plan)[2:4] == [p.key for p in pieces]

    def test_parts_of_different_counts_do_not_mix(self):
        # part 1 of a 2-way split and part 2 of a 3-way split are two incomplete snapshots
        mixed = [*parts(lambda **kw: full(30, **kw), 2, present=[1]),
                 *parts(lambda **kw: full(30, **kw), 3, present=[2, 3])]
        assert plan_restore(mixed) is None

    def test_parts_of_different_encodings_do_not_mix(self):
        mixed = [*parts(lambda **kw: full(30, encoding=Encoding.ZSTD, **kw), 2, present=[1]),
                 *parts(lambda **kw: full(30, encoding=Encoding.GZIP, **kw), 2, present=[2])]
        assert plan_restore(mixed) is None

    def test_part_one_of_one_beside_an_unsplit_object(self):
        """Both are complete snapshots; neither may hide the other."""
        whole = full(30, stored_at=1)
        (single,) = parts(lambda **kw: full(30, stored_at=2, **kw), 1)
        assert len(complete_snapshots([whole, single])) == 2
        assert plan_restore([whole, single]).full.objects == (single,)

    def test_snapshot_stored_at_is_its_last_part(self):
        pieces = [full(30, part=Part(1, 2), stored_at=9.0), full(30, part=Part(2, 2), stored_at=5.0)]
        (snapshot,) = complete_snapshots(pieces)
        assert snapshot.stored_at == 9.0


def test_deltas_covered_by_the_full_are_ignored():
    objects = [delta(0, 10), delta(10, 20), full(20), delta(15, 25), delta(20, 30)]
    plan = plan_restore(objects)
    assert plan.full.cursor_to == c(20)
    assert [(d.cursor_from, d.cursor_to) for d in plan.deltas] == [(c(20), c(30))]


def test_longest_delta_from_one_start_wins():
    plan = plan_restore([full(10), delta(10, 15), delta(10, 20), delta(20, 30)])
    assert [(d.cursor_from, d.cursor_to) for d in plan.deltas] == [(c(10), c(20)), (c(20), c(30))]


def test_longest_delta_within_up_to():
    plan = plan_restore([full(10), delta(10, 15), delta(10, 20)], up_to=c(17))
    assert plan.cursor == c(15)


def test_new_epoch_full_supersedes_the_old_epoch():
    objects = [full(10), delta(10, 20), full(20, epoch=1), delta(20, 25, epoch=1)]
    plan = plan_restore(objects)
    assert plan.full.cursor_to == c(20, epoch=1) and plan.cursor == c(25, epoch=1)
    assert chain_head(objects) == c(25, epoch=1)
    # point in time inside the old epoch
    assert plan_restore(objects, up_to=c(10**6)).cursor == c(20)


def test_chain_head():
    assert chain_head([full(10)]) == c(10)
    assert chain_head([full(10), delta(10, 20)]) == c(20)
    assert chain_head([delta(10, 20)]) == c(20)  # what a next delta must continue
    assert chain_head([full(30), delta(10, 20)]) == c(30)
    assert chain_head([*parts(lambda **kw: delta(10, 20, **kw), 2, present=[1])]) is None


def test_plan_size_and_objects():
    plan = plan_restore([full(10, size=100), delta(10, 20, size=7), delta(20, 30, size=3)])
    assert plan.size == 110
    assert plan.full.size == 100
    assert len(plan.objects) == 3
