"""The store as the control API shows it: objects per tenant, engine and instance."""
from __future__ import annotations

from emulator.protocol import layout


async def store_view(store) -> dict:
    tree: dict = {}
    total_objects = total_bytes = 0
    for info in await store.list(layout.ROOT + "/"):
        obj = layout.parse_key(info.key, info.size, info.etag, info.last_modified)
        parts = info.key.split("/")
        if len(parts) < 4:
            continue
        tenant, engine, instance = parts[1], parts[2], parts[3]
        node = tree.setdefault(tenant, {}).setdefault(engine, {}).setdefault(
            instance, {"objects": 0, "bytes": 0, "fulls": 0, "deltas": 0, "claimed": False,
                       "head": None, "last_stored_at": 0})
        if obj is None:
            node["claimed"] |= info.key.endswith("/" + layout.CLAIM)
            continue
        node["objects"] += 1
        node["bytes"] += info.size
        node["fulls" if obj.kind == "full" else "deltas"] += 1
        head = node["head"]
        if head is None or obj.cursor_to.key_form() > head:
            node["head"] = obj.cursor_to.key_form()
        node["last_stored_at"] = max(node["last_stored_at"], info.last_modified)
        total_objects += 1
        total_bytes += info.size
    for engines in tree.values():  # cursors back to their canonical text
        for instances in engines.values():
            for node in instances.values():
                if node["head"]:
                    from emulator.protocol.cursor import Cursor
                    node["head"] = str(Cursor.parse_key_form(node["head"]))
    return {"objects": total_objects, "bytes": total_bytes, "tenants": tree}
