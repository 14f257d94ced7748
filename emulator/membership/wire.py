"""The datagram format: compact JSON, one message per datagram, strictly checked.

A member is a list `[id, incarnation, status, addr, host, type, protocol,
endpoint, groups]` and an update appends the suspicion age in milliseconds. A
message is an object with the version `v`, the kind `k` and short field names.
Anything malformed raises WireError, so a driver can count and drop it: the
network is untrusted input.

Both directions memoize updates (bounded caches keyed by the record's fields):
after a join or a crash every node sends and receives the same few records
dozens of times, and building and checking them again each time was most of a
node's CPU, enough to starve the event loop of 64 nodes sharing one process.
"""
from __future__ import annotations

import json

from .messages import Ack, Gossip, IndirectAck, Join, Message, Ping, PingReq, Sync, Update
from .records import Member, Meta, Status

VERSION = 1
_STATUS_CODE = {Status.ALIVE: "a", Status.SUSPECT: "s", Status.FAILED: "f", Status.LEFT: "l"}
_CODE_STATUS = {code: status for status, code in _STATUS_CODE.items()}


class WireError(ValueError):
    """A datagram that is not a valid message of this protocol version."""


def member_fields(m: Member) -> list:
    return [m.node_id, m.incarnation, _STATUS_CODE[m.status], m.addr, m.host,
            m.meta.type, m.meta.protocol, m.meta.endpoint, list(m.meta.groups)]


def update_fields(u: Update) -> list:
    return member_fields(u.member) + [round(u.suspect_age * 1000)]


def update_size(u: Update) -> int:
    """Bytes an update adds to a datagram (the separator included)."""
    return len(_dumps(update_fields(u))) + 1


def _dumps(value) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


CACHE_SIZE = 4096
_encoded: dict[tuple[Member, int], str] = {}
_decoded: dict[tuple, Update] = {}


def _remember(cache: dict, key, value):
    if len(cache) >= CACHE_SIZE:
        cache.clear()  # crude but bounded; refills with what is current
    cache[key] = value
    return value


def _update_json(u: Update) -> str:
    key = (u.member, round(u.suspect_age * 1000))
    text = _encoded.get(key)
    if text is None:
        text = _remember(_encoded, key, json.dumps(update_fields(u), separators=(",", ":"),
                                                   ensure_ascii=False))
    return text


def encode(msg: Message) -> bytes:
    fields = _ENCODERS[type(msg)](msg) | {"v": VERSION}
    updates = getattr(msg, "updates", None)
    if updates is None:
        return _dumps(fields)
    head = json.dumps(fields, separators=(",", ":"), ensure_ascii=False)
    return (head[:-1] + ',"u":[' + ",".join(_update_json(u) for u in updates) + "]}").encode()


_ENCODERS = {
    Ping: lambda m: {"k": "ping", "q": m.seq, "s": m.source, "t": m.target},
    Ack: lambda m: {"k": "ack", "q": m.seq, "s": m.source},
    PingReq: lambda m: {"k": "ping-req", "q": m.seq, "s": m.source, "t": m.target,
                        "a": m.target_addr},
    IndirectAck: lambda m: {"k": "indirect-ack", "q": m.seq, "s": m.source, "t": m.target},
    Gossip: lambda m: {"k": "gossip", "s": m.source},
    Join: lambda m: {"k": "join", "s": m.source, "m": member_fields(m.member)},
    Sync: lambda m: {"k": "sync", "s": m.source, "r": m.want_reply},
}


def decode(data: bytes) -> Message:
    try:
        obj = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise WireError(f"not JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise WireError("a message is a JSON object")
    if obj.get("v") != VERSION:
        raise WireError(f"unsupported version {obj.get('v')!r}")
    kind = obj.get("k")
    decoder = _DECODERS.get(kind)
    if decoder is None:
        raise WireError(f"unknown message kind {kind!r}")
    try:
        return decoder(obj)
    except KeyError as exc:
        raise WireError(f"{kind}: missing field {exc}") from None


def _text(value, what: str, optional: bool = False) -> str | None:
    if value is None and optional:
        return None
    if not isinstance(value, str) or len(value) > 512:
        raise WireError(f"{what} must be a string")
    return value


def _int(value, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise WireError(f"{what} must be a non-negative integer")
    return value


def decode_member(fields) -> Member:
    if not isinstance(fields, list) or len(fields) != 9:
        raise WireError("a member is a list of 9 fields")
    node_id, inc, code, addr, host, type_, protocol, endpoint, groups = fields
    if code not in _CODE_STATUS:
        raise WireError(f"unknown status code {code!r}")
    if not isinstance(groups, list):
        raise WireError("groups must be a list")
    if not _text(node_id, "node id"):
        raise WireError("node id must not be empty")
    meta = Meta(_text(type_, "type"), _text(protocol, "protocol"), _text(endpoint, "endpoint"),
                tuple(_text(g, "group") for g in groups))
    return Member(node_id, _int(inc, "incarnation"), _CODE_STATUS[code],
                  _text(addr, "addr", optional=True), _text(host, "host", optional=True), meta)


def _updates(obj) -> tuple[Update, ...]:
    raw = obj["u"]
    if not isinstance(raw, list):
        raise WireError("updates must be a list")
    out = []
    for fields in raw:
        if not isinstance(fields, list) or len(fields) != 10:
            raise WireError("an update is a list of 10 fields")
        try:
            key = (*fields[:8], tuple(fields[8]), fields[9]) if isinstance(fields[8], list) else None
            known = _decoded.get(key) if key is not None else None
        except TypeError:  # an unhashable field: the checks below will say which
            key = known = None
        if known is None:
            known = Update(decode_member(fields[:9]), _int(fields[9], "suspicion age") / 1000)
            if key is not None:
                _remember(_decoded, key, known)
        out.append(known)
    return tuple(out)


_DECODERS = {
    "ping": lambda o: Ping(_int(o["q"], "seq"), _text(o["s"], "source"), _text(o["t"], "target"),
                           _updates(o)),
    "ack": lambda o: Ack(_int(o["q"], "seq"), _text(o["s"], "source"), _updates(o)),
    "ping-req": lambda o: PingReq(_int(o["q"], "seq"), _text(o["s"], "source"),
                                  _text(o["t"], "target"), _text(o["a"], "target addr"),
                                  _updates(o)),
    "indirect-ack": lambda o: IndirectAck(_int(o["q"], "seq"), _text(o["s"], "source"),
                                          _text(o["t"], "target"), _updates(o)),
    "gossip": lambda o: Gossip(_text(o["s"], "source"), _updates(o)),
    "join": lambda o: Join(_text(o["s"], "source"), decode_member(o["m"])),
    "sync": lambda o: Sync(_text(o["s"], "source"), _updates(o), o["r"] is True),
}
