"""The store as the control API shows it: objects per tenant, engine and instance, and
one instance's objects (the TUI's store browser)."""
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


async def instance_objects(store, tenant: str, engine: str, instance: str) -> dict:
    """The snapshot objects (and claim) under one tenant / engine / instance: kind,
    cursors, size, encoding, part, when stored."""
    prefix = "/".join([layout.ROOT, tenant, engine, instance]) + "/"
    objects = []
    for info in await store.list(prefix):
        obj = layout.parse_key(info.key, info.size, info.etag, info.last_modified)
        if obj is None:
            objects.append({"key": info.key, "kind": "other", "size": info.size,
                            "stored_at": info.last_modified})
            continue
        objects.append({"key": obj.key, "kind": obj.kind, "size": obj.size, "etag": obj.etag,
                        "stored_at": obj.stored_at, "encoding": obj.encoding.value,
                        "cursor_from": str(obj.cursor_from) if obj.cursor_from else None,
                        "cursor_to": str(obj.cursor_to),
                        "part": [obj.part.index, obj.part.count] if obj.part else None})
    return {"prefix": prefix, "objects": objects}
