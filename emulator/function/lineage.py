"""Lineage takeover, the I/O half (the policy is emulator.protocol.takeover).

List the engine's subtree, read the claims, rank candidates with the pure
policy, then claim the first with a create-only put. A claim that is no longer
binding (lease expired, claimant never pushed) is replaced only if it is still
the same object we judged (delete, then create-only put), so two racing
adopters cannot both succeed.
"""
from __future__ import annotations

import json
from collections import defaultdict

from emulator.protocol import layout
from emulator.protocol.restore_plan import plan_restore
from emulator.protocol.takeover import Claim, lineage_candidates
from emulator.store.interface import NotFound, PreconditionFailed


async def _claims(store, infos) -> dict[str, Claim]:
    claims = {}
    for info in infos:
        if not info.key.endswith("/" + layout.CLAIM):
            continue
        lineage = info.key.split("/")[3]
        try:
            data = json.loads(await store.get(info.key))
            claims[lineage] = Claim(lineage, data["claimed_by"], float(data["claimed_at"]), info.etag)
        except (NotFound, ValueError, KeyError, TypeError):
            continue  # a vanished or unreadable claim binds nobody
    return claims


async def adopt_newest_lineage(store, query, requester: str, cfg):
    infos = await store.list(layout.engine_prefix(query.tenant, query.engine))
    by_instance = defaultdict(list)
    for info in infos:
        obj = layout.parse_key(info.key, info.size, info.etag, info.last_modified)
        if obj is not None:
            by_instance[obj.instance_id].append(obj)
    claims = await _claims(store, infos)
    now = cfg.clock()
    for lineage in lineage_candidates(by_instance, claims, requester=requester, now=now,
                                      lease_s=cfg.takeover_lease_s):
        plan = plan_restore(by_instance[lineage], up_to=query.up_to, full_only=query.full_only)
        if plan is None:
            continue
        if await _claim(store, query, lineage, requester, now, claims.get(lineage)):
            return plan, lineage
    return None, None


async def _claim(store, query, lineage: str, requester: str, now: float, old: Claim | None) -> bool:
    key = layout.claim_key(query.tenant, query.engine, lineage)
    if old is not None and old.claimed_by == requester:
        return True
    body = json.dumps({"claimed_by": requester, "claimed_at": now}).encode()
    if old is not None:
        current = await store.head(key)
        if current is None or current.etag != old.etag:
            return False  # someone else replaced it since we looked
        await store.delete(key)
    try:
        await store.put(key, body, if_absent=True)
        return True
    except PreconditionFailed:
        return False
