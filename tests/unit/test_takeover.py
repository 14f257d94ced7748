"""Lineage takeover: which lineages a new instance may adopt, and when a claim binds."""
import pytest

from emulator.protocol.takeover import DEFAULT_LEASE_S, Claim, claim_is_binding, lineage_candidates

from .listing import delta, full, parts

NOW = 10_000.0


def listing(**instances):
    return {name.replace("_", "-"): objs for name, objs in instances.items()}


def test_newest_lineage_first_by_last_storage_time():
    objects = listing(
        old=[full(10, instance="old", stored_at=100)],
        busy=[full(5, instance="busy", stored_at=50), delta(5, 9, instance="busy", stored_at=900)],
        mid=[full(99, instance="mid", stored_at=500)],
    )
    assert lineage_candidates(objects, {}, requester="new", now=NOW) == ["busy", "mid", "old"]


def test_ties_are_ordered_deterministically():
    objects = listing(a=[full(1, instance="a", stored_at=5)], b=[full(1, instance="b", stored_at=5)])
    first = lineage_candidates(objects, {}, requester="new", now=NOW)
    assert first == lineage_candidates(dict(reversed(objects.items())), {}, requester="new", now=NOW)
    assert sorted(first) == ["a", "b"]


def test_requester_is_never_its_own_candidate():
    objects = listing(me=[full(10, instance="me", stored_at=999)], other=[full(1, instance="other")])
    assert lineage_candidates(objects, {}, requester="me", now=NOW) == ["other"]


def test_lineages_without_a_complete_full_are_skipped():
    objects = listing(
        deltas_only=[delta(0, 10, instance="deltas-only", stored_at=900)],
        half_split=parts(lambda **kw: full(10, instance="half-split", stored_at=800, **kw), 2,
                         present=[1]),
        empty=[],
        good=[full(10, instance="good", stored_at=1)],
    )
    assert lineage_candidates(objects, {}, requester="new", now=NOW) == ["good"]


def test_recency_counts_complete_snapshots_only():
    objects = listing(
        a=[full(10, instance="a", stored_at=100),
           *parts(lambda **kw: delta(10, 20, instance="a", stored_at=999, **kw), 2, present=[1])],
        b=[full(10, instance="b", stored_at=200)],
    )
    assert lineage_candidates(objects, {}, requester="new", now=NOW) == ["b", "a"]


def claim(lineage, by, at):
    return Claim(lineage=lineage, claimed_by=by, claimed_at=at)


def test_claim_within_lease_binds():
    objects = listing(old=[full(10, instance="old")], claimant=[])
    claims = {"old": claim("old", "claimant", NOW - DEFAULT_LEASE_S + 1)}
    assert lineage_candidates(objects, claims, requester="new", now=NOW) == []


def test_claim_binds_once_the_claimant_has_pushed_even_after_the_lease():
    objects = listing(old=[full(10, instance="old", stored_at=1)],
                      claimant=[full(10, epoch=1, instance="claimant", stored_at=2)])
    claims = {"old": claim("old", "claimant", NOW - 10 * DEFAULT_LEASE_S)}
    # the claimant's own subtree continues the lineage and is the candidate now
    assert lineage_candidates(objects, claims, requester="new", now=NOW) == ["claimant"]


def test_claimant_with_only_an_incomplete_push_still_counts_as_pushed():
    objects = listing(old=[full(10, instance="old")],
                      claimant=parts(lambda **kw: full(11, instance="claimant", **kw), 3, present=[1]))
    claims = {"old": claim("old", "claimant", NOW - 10 * DEFAULT_LEASE_S)}
    assert lineage_candidates(objects, claims, requester="new", now=NOW) == []


def test_stale_claim_frees_the_lineage():
    """The claimant died before its first push: after the lease the state is not stranded."""
    objects = listing(old=[full(10, instance="old")])
    claims = {"old": claim("old", "dead-pod", NOW - DEFAULT_LEASE_S)}
    assert lineage_candidates(objects, claims, requester="new", now=NOW) == ["old"]
    assert lineage_candidates(objects, claims, requester="new", now=NOW - 1) == []


def test_custom_lease():
    objects = listing(old=[full(10, instance="old")])
    claims = {"old": claim("old", "dead-pod", NOW - 30)}
    assert lineage_candidates(objects, claims, requester="new", now=NOW, lease_s=31) == []
    assert lineage_candidates(objects, claims, requester="new", now=NOW, lease_s=30) == ["old"]


def test_own_claim_is_not_binding():
    """Re-adopting after a lost answer is a retry, not a conflict."""
    objects = listing(old=[full(10, instance="old")])
    claims = {"old": claim("old", "new", NOW)}
    assert lineage_candidates(objects, claims, requester="new", now=NOW) == ["old"]


def test_claimed_lineage_is_skipped_and_the_next_offered():
    objects = listing(newest=[full(10, instance="newest", stored_at=300)],
                      older=[full(10, instance="older", stored_at=200)])
    claims = {"newest": claim("newest", "winner", NOW)}
    assert lineage_candidates(objects, claims, requester="loser", now=NOW) == ["older"]


@pytest.mark.parametrize("age, has_pushed, requester, binding", [
    (0, False, "b", True),
    (DEFAULT_LEASE_S - 0.001, False, "b", True),
    (DEFAULT_LEASE_S, False, "b", False),
    (DEFAULT_LEASE_S * 100, True, "b", True),
    (0, False, "a", False),
    (0, True, "a", False),
])
def test_claim_is_binding_table(age, has_pushed, requester, binding):
    c = claim("lineage", "a", NOW - age)
    assert claim_is_binding(c, requester=requester, has_pushed=has_pushed, now=NOW) is binding
