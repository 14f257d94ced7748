"""The restore planner: a listing in, a RestorePlan (or a precise error) out.

Rules (Litestream's shape: plan first, apply separately):
- a snapshot split into parts (after a 413) counts only when every part is
  listed; an incomplete one is invisible, as if its upload had not finished;
- the base is the newest complete full (highest cursor; among equal cursors the
  one stored last), at or before `up_to` when given;
- then deltas strictly in chain order: each must start exactly at the cursor
  the previous one ended at. When deltas offer several paths (a retried push
  re-cut differently), the path reaching the highest cursor wins, the fewest
  deltas among equals, which is deterministic;
- any complete delta that ends beyond the reachable end is a gap: ChainGap
  names the last restorable cursor and where that delta starts, because
  returning the prefix would silently lose acknowledged writes. Deltas
  already covered by the full are ignored.
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
        orphans = sorted(s.cursor_from for s in snapshots if s.kind == "delta"
                         and (up_to is None or s.cursor_to <= up_to))
        if orphans:  # deltas with nothing to apply them to: state was lost, say so
            raise ChainGap(f"deltas from {orphans[0]} are stored but no full they apply to",
                           restorable=None, next_from=orphans[0])
        return None
    base = max(fulls, key=lambda s: (s.cursor_to, s.stored_at))
    if full_only:
        return RestorePlan(base, ())
    deltas = [s for s in snapshots if s.kind == "delta" and s.cursor_to > base.cursor_to
              and (up_to is None or s.cursor_to <= up_to)]
    chain = _farthest_chain(base.cursor_to, deltas)
    at = chain[-1].cursor_to if chain else base.cursor_to
    beyond = sorted(s.cursor_from for s in deltas if s.cursor_to > at)
    if beyond:
        raise ChainGap(f"non-contiguous chain: restorable up to {at}, a delta from {beyond[0]} "
                       f"reaches beyond it", restorable=at, next_from=beyond[0])
    return RestorePlan(base, tuple(chain))


def _farthest_chain(start: Cursor, deltas: list[Snapshot]) -> list[Snapshot]:
    """The contiguous run of deltas from `start` that reaches the highest cursor,
    the fewest deltas among equals (a retried push re-cut differently leaves
    alternative paths; any complete path is the same history)."""
    starts: dict[Cursor, list[Snapshot]] = defaultdict(list)
    for d in deltas:
        starts[d.cursor_from].append(d)
    best: dict[Cursor, list[Snapshot]] = {start: []}
    for cursor in sorted({start, *(d.cursor_from for d in deltas)}):
        if cursor not in best:
            continue  # unreachable from the base
        for d in starts.get(cursor, ()):
            path = best[cursor] + [d]
            known = best.get(d.cursor_to)
            if known is None or len(path) < len(known):
                best[d.cursor_to] = path
    return best[max(best)]
