"""The restore planner: a listing in, a RestorePlan (or a precise error) out.

Rules (Litestream's shape: plan first, apply separately):
- a snapshot split into parts (after a 413) counts only when every part is
  listed; an incomplete one is invisible, as if its upload had not finished;
- the base is the newest complete full (highest cursor; among equal cursors the
  one stored last), at or before `up_to` when given;
- then deltas strictly in chain order: each must start exactly at the cursor
  the previous one ended at. When several complete deltas start at the same
  cursor (a retried push that was re-cut), the longest that stays within
  `up_to` wins, which is deterministic;
- a delta that would begin later than the chain's end is a gap: ChainGap names
  the last restorable cursor and where the next delta starts. Deltas already
  covered by the full are ignored.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Iterable

from .cursor import Cursor
from .errors import ChainGap
from .layout import StoredObject


@dataclass(frozen=True)
class Snapshot:
    """A logical snapshot: one object, or all parts of a split one, in order."""
    kind: str
    cursor_from: Cursor | None
    cursor_to: Cursor
    objects: tuple[StoredObject, ...]

    @property
    def size(self) -> int:
        return sum(o.size for o in self.objects)

    @property
    def stored_at(self) -> float:
        return max(o.stored_at for o in self.objects)


@dataclass(frozen=True)
class RestorePlan:
    full: Snapshot
    deltas: tuple[Snapshot, ...]

    @property
    def cursor(self) -> Cursor:
        return self.deltas[-1].cursor_to if self.deltas else self.full.cursor_to

    @property
    def objects(self) -> tuple[StoredObject, ...]:
        out = list(self.full.objects)
        for delta in self.deltas:
            out.extend(delta.objects)
        return tuple(out)

    @property
    def size(self) -> int:
        return sum(o.size for o in self.objects)


def complete_snapshots(objects: Iterable[StoredObject]) -> list[Snapshot]:
    """Group parts into snapshots, dropping any whose parts are not all present."""
    groups: dict[tuple, list[StoredObject]] = defaultdict(list)
    for obj in objects:
        count = obj.part.count if obj.part else 1
        # `split` keeps an unsplit object apart from a "part 1/1" of the same
        # snapshot: both are complete on their own, and grouped together their
        # indexes [1, 1] would make both invisible.
        groups[(obj.kind, obj.cursor_from, obj.cursor_to, obj.encoding, count,
                obj.part is not None)].append(obj)
    out = []
    for (kind, c_from, c_to, _enc, count, _split), objs in groups.items():
        indexes = sorted(o.part.index if o.part else 1 for o in objs)
        if indexes != list(range(1, count + 1)):
            continue
        objs.sort(key=lambda o: o.part.index if o.part else 1)
        out.append(Snapshot(kind, c_from, c_to, tuple(objs)))
    return out


def chain_head(objects: Iterable[StoredObject]) -> Cursor | None:
    """The highest cursor any complete snapshot reaches: what a new delta must continue."""
    heads = [s.cursor_to for s in complete_snapshots(objects)]
    return max(heads) if heads else None


def plan_restore(objects: Iterable[StoredObject], *, up_to: Cursor | None = None,
                 full_only: bool = False) -> RestorePlan | None:
    """The plan to restore, None when nothing restorable is stored."""
    snapshots = complete_snapshots(objects)
    fulls = [s for s in snapshots if s.kind == "full" and (up_to is None or s.cursor_to <= up_to)]
    if not fulls:
        return None
    base = max(fulls, key=lambda s: (s.cursor_to, s.stored_at))
    if full_only:
        return RestorePlan(base, ())
    starts: dict[Cursor, list[Snapshot]] = defaultdict(list)
    for s in snapshots:
        if s.kind == "delta" and s.cursor_to > base.cursor_to and (up_to is None or s.cursor_to <= up_to):
            starts[s.cursor_from].append(s)
    chain, at = [], base.cursor_to
    while at in starts:
        step = max(starts.pop(at), key=lambda s: s.cursor_to)
        chain.append(step)
        at = step.cursor_to
    later = [c for c in starts if c > at]
    if later:
        raise ChainGap(f"non-contiguous chain: restorable up to {at}, next delta starts at {min(later)}",
                       restorable=at, next_from=min(later))
    return RestorePlan(base, tuple(chain))
