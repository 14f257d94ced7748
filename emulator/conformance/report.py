"""Turning results into text, JSON and an exit status. Pure: no I/O here.

A line reads `OUTCOME  <id>  <description>  — <reason>`, the id padded so
descriptions line up; the summary reads
`conformance: 31 passed, 0 failed, 2 warnings, 1 skipped`.
"""
from __future__ import annotations

from collections import Counter
from typing import Iterable, Sequence

from .model import Clause, ClauseResult, Outcome

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def id_width(ids: Iterable[str]) -> int:
    return max((len(i) for i in ids), default=0)


def format_line(result: ClauseResult, width: int = 0) -> str:
    line = f"{result.outcome.value}  {result.id.ljust(width)}  {result.description}"
    return f"{line}  — {result.reason}" if result.reason else line


def format_lines(results: Sequence[ClauseResult], width: int | None = None) -> list[str]:
    width = id_width(r.id for r in results) if width is None else width
    return [format_line(r, width) for r in results]


def counts(results: Iterable[ClauseResult]) -> dict[str, int]:
    c = Counter(r.outcome for r in results)
    return {"passed": c[Outcome.PASS], "failed": c[Outcome.FAIL],
            "warnings": c[Outcome.WARN], "skipped": c[Outcome.SKIP]}


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def summary(results: Sequence[ClauseResult]) -> str:
    n = counts(results)
    return (f"conformance: {n['passed']} passed, {n['failed']} failed, "
            f"{_plural(n['warnings'], 'warning')}, {n['skipped']} skipped")


def exit_status(results: Iterable[ClauseResult], strict: bool = False) -> int:
    """1 if any clause failed (or, with strict, warned); else 0."""
    bad = {Outcome.FAIL, Outcome.WARN} if strict else {Outcome.FAIL}
    return EXIT_FAILED if any(r.outcome in bad for r in results) else EXIT_OK


def to_json(results: Sequence[ClauseResult], *, endpoint: str, tenant: str, engine: str,
            max_payload: int, strict: bool = False) -> dict:
    """The --json document (never contains the secret)."""
    return {
        "endpoint": endpoint, "tenant": tenant, "engine": engine, "max_payload": max_payload,
        "summary": counts(results),
        "ok": exit_status(results, strict) == EXIT_OK,
        "clauses": [{"id": r.id, "level": r.level.value, "outcome": r.outcome.value,
                     "description": r.description, "reason": r.reason, "seconds": r.seconds}
                    for r in results],
    }


def format_listing(clauses: Sequence[Clause]) -> list[str]:
    """`--list`: one line per clause, `<id>  <level>  <description>`."""
    width = id_width(c.id for c in clauses)
    return [f"{c.id.ljust(width)}  {c.level.value:<9}  {c.description}" for c in clauses]
