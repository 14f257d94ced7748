"""What a clause is and what running one can produce.

A clause is an async callable taking a ClauseContext. It passes by returning,
and otherwise raises one of the exceptions below. The level decides how a
failure is reported: a contract clause fails, an extension clause (one that
tests wkp-emu's decisions beyond seed 000) only warns, because a seed-only
function may legitimately differ.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Awaitable, Callable


class Level(enum.Enum):
    CONTRACT = "contract"    # seed 000 says so
    EXTENSION = "extension"  # docs/protocol-decisions.md says so


class Outcome(enum.Enum):
    PASS = "PASS"
    FAIL = "FAIL"
    WARN = "WARN"
    SKIP = "SKIP"


class ClauseFailed(Exception):
    """The function broke the clause; `reason` says which request, what was expected, what came."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class ClauseWarning(ClauseFailed):
    """Not a violation, but worth the user's attention (e.g. an open /health)."""


class ClauseSkipped(ClauseFailed):
    """The clause cannot be judged from outside (or not with these settings)."""


@dataclass(frozen=True)
class Clause:
    id: str
    description: str
    level: Level
    run: Callable[..., Awaitable[None]]


@dataclass(frozen=True)
class ClauseResult:
    id: str
    description: str
    level: Level
    outcome: Outcome
    reason: str = ""
    seconds: float = 0.0


def outcome_for(level: Level, error: BaseException | None) -> Outcome:
    """The outcome of a clause that raised `error` (None: it returned)."""
    if error is None:
        return Outcome.PASS
    if isinstance(error, ClauseSkipped):
        return Outcome.SKIP
    if isinstance(error, ClauseWarning):
        return Outcome.WARN
    return Outcome.WARN if level is Level.EXTENSION else Outcome.FAIL
