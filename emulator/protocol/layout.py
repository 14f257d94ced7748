"""The object-store key layout (seed 000, with fixed-width names).

    weftkit/{tenant}/{engine}/{instance}/full/{to}[.pNNNNofNNNN].{ext}
    weftkit/{tenant}/{engine}/{instance}/delta/{from}_to_{to}[.pNNNNofNNNN].{ext}
    weftkit/{tenant}/{engine}/{instance}/claim.json        (takeover guard)

`{from}`/`{to}` are cursors in `Cursor.key_form()` (twelve digits per field),
so lexicographic listing order is replay order. The seed's example puts the
storage time first; we keep time out of the name (it is the object's
metadata and LastModified) so that a retried push lands on the same key and
stores nothing twice, and so that a skewed clock can never reorder replay.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from . import names
from .codec import Encoding
from .cursor import Cursor
from .headers import Part

ROOT = "weftkit"
CLAIM = "claim.json"
_NAME = re.compile(
    r"(?P<kind>full|delta)/(?:(?P<from>wkc_[0-9]{12}_[0-9]{12})_to_)?(?P<to>wkc_[0-9]{12}_[0-9]{12})"
    r"(?:\.p(?P<index>[0-9]{4})of(?P<count>[0-9]{4}))?\.(?P<ext>zst|gz|bin)")


# Every stored push names its object, so the name is built in one step: the extension
# from a table taken once from Encoding.extension (the property builds its table on
# every call), and both cursors in Cursor.key_form()'s spelling by one format rather
# than a key_form() call each, which cost as much again (tests/sim/test_speed_paths.py
# checks the names are key_form's).
_EXTENSION = {encoding: encoding.extension for encoding in Encoding}
_DELTA_NAME = "delta/wkc_%012d_%012d_to_wkc_%012d_%012d"
_FULL_NAME = "full/wkc_%012d_%012d"


def engine_prefix(tenant: str, engine: str) -> str:
    names.tenant(tenant)
    names.engine(engine)
    return f"{ROOT}/{tenant}/{engine}/"


def instance_prefix(tenant: str, engine: str, instance_id: str) -> str:
    names.instance_id(instance_id)
    return f"{engine_prefix(tenant, engine)}{instance_id}/"


def claim_key(tenant: str, engine: str, instance_id: str) -> str:
    return instance_prefix(tenant, engine, instance_id) + CLAIM


def object_name(kind: str, cursor_from: Cursor | None, cursor_to: Cursor,
                encoding: Encoding, part: Part | None = None) -> str:
    if kind == "delta":
        name = _DELTA_NAME % (cursor_from.epoch, cursor_from.seq, cursor_to.epoch, cursor_to.seq)
    else:
        name = _FULL_NAME % (cursor_to.epoch, cursor_to.seq)
    if part is not None:
        name += f".p{part.index:04d}of{part.count:04d}"
    return f"{name}.{_EXTENSION[encoding]}"


def object_key(tenant: str, engine: str, instance_id: str, kind: str,
               cursor_from: Cursor | None, cursor_to: Cursor, encoding: Encoding,
               part: Part | None = None) -> str:
    return instance_prefix(tenant, engine, instance_id) + object_name(
        kind, cursor_from, cursor_to, encoding, part)


@dataclass(frozen=True)
class StoredObject:
    """One snapshot object as seen in a listing."""
    key: str
    instance_id: str
    kind: str
    cursor_from: Cursor | None
    cursor_to: Cursor
    encoding: Encoding
    part: Part | None
    size: int = 0
    etag: str = ""
    stored_at: float = 0.0


def parse_key(key: str, size: int = 0, etag: str = "", stored_at: float = 0.0) -> StoredObject | None:
    """The StoredObject a key names, or None for keys that are not snapshots."""
    pieces = key.split("/", 4)
    if len(pieces) != 5 or pieces[0] != ROOT:
        return None
    _, _tenant, _engine, instance_id, name = pieces
    match = _NAME.fullmatch(name)
    if not match:
        return None
    cursor_from = Cursor.parse_key_form(match["from"]) if match["from"] else None
    cursor_to = Cursor.parse_key_form(match["to"])
    # Only names object_name() can produce: a delta has a start before its end, a
    # full has none. A stray key (a hand-edited bucket) would otherwise reach the
    # planner as a delta starting at None and crash it.
    if (match["kind"] == "delta") != (cursor_from is not None):
        return None
    if cursor_from is not None and cursor_from >= cursor_to:
        return None
    part = Part(int(match["index"]), int(match["count"])) if match["index"] else None
    return StoredObject(
        key=key, instance_id=instance_id, kind=match["kind"],
        cursor_from=cursor_from, cursor_to=cursor_to,
        encoding=Encoding.from_extension(match["ext"]),
        part=part, size=size, etag=etag, stored_at=stored_at)
