"""The eight engine kinds: what their values look like, where it matters to persistence.

Persistence cares about size, compressibility and write rate, so each kind
differs there: markdown text compresses several-fold, vector float32 arrays
barely at all, inmemory writes small values to few keys at a high rate (the WAL
dominates), filestore blobs are large and incompressible (a small
--max-payload forces split pushes). `validate` enforces each kind's value shape
on the data API (400 naming the problem); `generate` feeds the workload
generator.
"""
from __future__ import annotations

import json
import random
import struct
from dataclasses import dataclass
from typing import Callable

WORDS = ("weft warp loom shuttle heddle reed bobbin spindle thread yarn pattern twill satin "
         "selvedge bolt skein dye fibre knot tension treadle batten harness pick").split()


def _json_object(value: bytes) -> dict | None:
    try:
        data = json.loads(value)
    except (ValueError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) else None


def _need_json(value: bytes) -> str | None:
    return None if _json_object(value) is not None else "value must be a JSON object"


def _need_edge(value: bytes) -> str | None:
    data = _json_object(value)
    if data is None or not {"from", "to"} <= set(data):
        return "value must be a JSON object with \"from\" and \"to\" (an edge)"
    return None


def _need_text(value: bytes) -> str | None:
    try:
        value.decode("utf-8")
    except UnicodeDecodeError:
        return "value must be UTF-8 markdown text"
    return None


def _need_floats(value: bytes) -> str | None:
    if not value or len(value) % 4:
        return "value must be a non-empty float32 array (length a multiple of 4 bytes)"
    return None


def _any(value: bytes) -> str | None:
    return None


def _words(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n))


def _row(rng: random.Random, i: int) -> bytes:
    return json.dumps({"id": i, "name": _words(rng, 2), "email": f"user{i}@example.com",
                       "balance": round(rng.uniform(0, 10000), 2), "active": rng.random() < .9},
                      sort_keys=True).encode()


def _document(rng: random.Random, i: int) -> bytes:
    return json.dumps({"_id": i, "title": _words(rng, 5).title(), "tags": rng.sample(WORDS, 4),
                       "body": _words(rng, 120), "meta": {"rev": rng.randint(1, 99)}}).encode()


def _edge(rng: random.Random, i: int) -> bytes:
    return json.dumps({"from": f"n:{rng.randrange(10000)}", "to": f"n:{rng.randrange(10000)}",
                       "label": rng.choice(("follows", "owns", "likes")),
                       "weight": round(rng.random(), 3)}).encode()


def _session(rng: random.Random, i: int) -> bytes:
    return f"hits={rng.randrange(10**6)};ttl={rng.randrange(3600)};".encode() + rng.randbytes(16).hex().encode()


def _token(rng: random.Random, i: int) -> bytes:
    return rng.randbytes(32).hex().encode()


def _vector(rng: random.Random, i: int, dims: int = 384) -> bytes:
    return struct.pack(f"<{dims}f", *(rng.gauss(0, 1) for _ in range(dims)))


def _markdown(rng: random.Random, i: int) -> bytes:
    parts = [f"# {_words(rng, 4).title()}\n"]
    for _ in range(6):
        parts.append(f"\n## {_words(rng, 3)}\n\n{_words(rng, 60)}.\n\n- {_words(rng, 6)}\n- {_words(rng, 6)}\n")
    return "".join(parts).encode()


def _blob(rng: random.Random, i: int, size: int = 256 * 1024) -> bytes:
    return rng.randbytes(size)  # incompressible, like already-compressed media


@dataclass(frozen=True)
class KindProfile:
    name: str
    shape: str
    default_keys: int
    default_rate: float  # writes/s of the workload generator when no rate is set
    validate: Callable[[bytes], str | None]
    generate: Callable[[random.Random, int], bytes]


PROFILES = {p.name: p for p in (
    KindProfile("relational", "JSON rows (~150 B), moderately compressible", 5000, 50, _need_json, _row),
    KindProfile("document", "JSON documents (~1 KiB), compressible", 2000, 20, _need_json, _document),
    KindProfile("graph", "JSON edges (~100 B)", 20000, 100, _need_edge, _edge),
    KindProfile("inmemory", "small session values (~60 B) on few keys: WAL heavy", 64, 500, _any, _session),
    KindProfile("keyvalue", "hex tokens (64 B)", 10000, 100, _any, _token),
    KindProfile("vector", "float32[384] embeddings (1.5 KiB), barely compressible", 2000, 20,
                _need_floats, _vector),
    KindProfile("markdown", "markdown pages (~3 KiB), compress several-fold", 500, 5, _need_text, _markdown),
    KindProfile("filestore", "random blobs (256 KiB), incompressible, force split pushes", 64, 1,
                _any, _blob),
)}


def profile(kind: str) -> KindProfile:
    return PROFILES[kind]


def sized(kind: str, rng: random.Random, i: int, size: int) -> bytes:
    """A value of `kind` of about `size` bytes that still passes the kind's validation.

    JSON kinds get a `pad` field, markdown more words, vectors more dimensions
    (rounded to whole float32s), the opaque kinds random hex (compressible about
    twice, like tokens) or random bytes for filestore (incompressible).
    """
    if size <= 0:
        return PROFILES[kind].generate(rng, i)
    if kind == "vector":
        return _vector(rng, i, dims=max(1, size // 4))
    if kind == "filestore":
        return _blob(rng, i, size)
    if kind in ("inmemory", "keyvalue"):
        return rng.randbytes((size + 1) // 2).hex().encode()[:size]
    if kind == "markdown":
        text = f"# {_words(rng, 4).title()}\n\n"
        while len(text) < size:
            text += _words(rng, 12) + ".\n"
        return text[:size].encode()
    value = json.loads(PROFILES[kind].generate(rng, i))
    base = len(json.dumps(value, sort_keys=True)) + len(', "pad": ""')
    value["pad"] = _words(rng, max(1, (size - base) // 6 + 1))[: max(0, size - base)]
    return json.dumps(value, sort_keys=True).encode()
