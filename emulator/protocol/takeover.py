"""Lineage takeover: the restore policy for a new instance id (the instance-id trap).

On an ephemeral volume a recycled pod boots with a new random instance id and
finds nothing under it. By default a restore serves only the caller's own
subtree (the seed's rule: each replica restores its own state), so such a pod
boots fresh. A single-replica engine opts in with `takeover=newest`: when its
own subtree is empty, it adopts the newest lineage of its tenant and engine.

The guard: adoption writes a claim object (`claim.json`) in the adopted
subtree with a create-only conditional put, so two replicas racing for the
same lineage cannot both win; the loser moves on to the next candidate or
boots fresh. A claim stays binding once its claimant has pushed anything (its
own subtree now continues the lineage and is newer anyway), or while it is
younger than the lease; a claimant that died before its first push frees the
lineage when the lease runs out, so the data is not stranded.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

from .layout import StoredObject
from .restore_plan import complete_snapshots

DEFAULT_LEASE_S = 120


@dataclass(frozen=True)
class Claim:
    lineage: str      # the adopted instance id
    claimed_by: str   # the adopting instance id
    claimed_at: float
    etag: str = ""    # so that a stale claim is replaced conditionally


def claim_is_binding(claim: Claim, *, requester: str, has_pushed: bool, now: float,
                     lease_s: float = DEFAULT_LEASE_S) -> bool:
    if claim.claimed_by == requester:
        return False  # re-adopting one's own claim is a retry, not a conflict
    return has_pushed or (now - claim.claimed_at) < lease_s


def lineage_candidates(objects_by_instance: Mapping[str, Sequence[StoredObject]],
                       claims: Mapping[str, Claim], *, requester: str, now: float,
                       lease_s: float = DEFAULT_LEASE_S) -> list[str]:
    """Instance ids whose lineage the requester may adopt, newest first.

    Newest means: the latest time any complete snapshot of it was stored.
    Only lineages with a complete full are restorable, so only they count.
    """
    ranked = []
    for instance, objects in objects_by_instance.items():
        if instance == requester:
            continue
        snapshots = complete_snapshots(objects)
        if not any(s.kind == "full" for s in snapshots):
            continue
        claim = claims.get(instance)
        if claim is not None:
            claimant_objects = objects_by_instance.get(claim.claimed_by, ())
            if claim_is_binding(claim, requester=requester, has_pushed=bool(claimant_objects),
                                now=now, lease_s=lease_s):
                continue
        ranked.append((max(s.stored_at for s in snapshots), instance))
    ranked.sort(reverse=True)
    return [instance for _, instance in ranked]
