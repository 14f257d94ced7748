"""The clause table: clause modules register with @clause, in reading order.

Ids read `<area>.<case>.<expected>` (e.g. `auth.expired-timestamp.401`), so
`--only auth` or `--only '*.409'` select naturally.
"""
from __future__ import annotations

import fnmatch
import importlib
from typing import Iterable

from .model import Clause, Level

CLAUSE_MODULES = (
    "emulator.conformance.clauses.health",
    "emulator.conformance.clauses.auth",
    "emulator.conformance.clauses.persist",
    "emulator.conformance.clauses.idempotency",
    "emulator.conformance.clauses.restore",
    "emulator.conformance.clauses.restore_extensions",
    "emulator.conformance.clauses.instances",
)

_TABLE: dict[str, Clause] = {}


def clause(clause_id: str, description: str, level: Level = Level.CONTRACT):
    """Register the decorated coroutine function as a clause."""
    def register(fn):
        if clause_id in _TABLE:
            raise ValueError(f"clause {clause_id!r} registered twice")
        _TABLE[clause_id] = Clause(clause_id, description, level, fn)
        return fn
    return register


def all_clauses() -> list[Clause]:
    for name in CLAUSE_MODULES:
        importlib.import_module(name)
    return list(_TABLE.values())


def split_patterns(values: Iterable[str]) -> list[str]:
    """`--only a,b --only c` -> ["a", "b", "c"]."""
    return [p.strip() for v in values for p in v.split(",") if p.strip()]


def matches(clause_id: str, pattern: str) -> bool:
    """A glob (`*.409`, `restore.chain-*`) or, without wildcards, an id prefix (`auth`)."""
    if any(ch in pattern for ch in "*?["):
        return fnmatch.fnmatchcase(clause_id, pattern)
    return clause_id.startswith(pattern)


def select(clauses: Iterable[Clause], patterns: list[str]) -> list[Clause]:
    """Clauses matching any pattern, in table order; all of them when no pattern is given."""
    clauses = list(clauses)
    if not patterns:
        return clauses
    return [c for c in clauses if any(matches(c.id, p) for p in patterns)]
