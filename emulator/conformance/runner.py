"""Running clauses: one at a time, each with a fresh instance id and its own
timeout, so a failure or a hang in one clause never affects the next.

Sequential on purpose: clauses are independent by namespace, a user's function
is not flooded (no 429s), and the takeover clause can rely on "newest".
"""
from __future__ import annotations

import asyncio
import time
from typing import Callable, Iterable

import aiohttp

from .client import WkpClient, open_session
from .context import ClauseContext, Settings
from .model import Clause, ClauseFailed, ClauseResult, outcome_for


class Unreachable(Exception):
    """The endpoint does not answer at all: no clause can be judged."""


async def run_clause(clause: Clause, client: WkpClient, settings: Settings,
                     clock: Callable[[], float] = time.time) -> ClauseResult:
    ctx = ClauseContext(client, settings, clause.id, clock)
    started = time.monotonic()
    error: BaseException | None = None
    try:
        async with asyncio.timeout(settings.timeout):
            await clause.run(ctx)
    except ClauseFailed as exc:
        error = exc
    except TimeoutError:
        error = ClauseFailed(f"no verdict within --timeout {settings.timeout:g} s")
    except aiohttp.ClientError as exc:
        error = ClauseFailed(f"HTTP error: {type(exc).__name__}: {exc}")
    except Exception as exc:  # a kit bug must not hide the other clauses' results
        error = ClauseFailed(f"the kit itself raised {type(exc).__name__}: {exc}")
    return ClauseResult(clause.id, clause.description, clause.level,
                        outcome_for(clause.level, error),
                        getattr(error, "reason", ""), round(time.monotonic() - started, 3))


async def probe(client: WkpClient, settings: Settings) -> None:
    """Raise Unreachable unless something answers HTTP at the endpoint."""
    ctx = ClauseContext(client, settings, "probe")
    try:
        async with asyncio.timeout(settings.timeout):
            await ctx.health()
    except (aiohttp.ClientConnectionError, TimeoutError, OSError) as exc:
        raise Unreachable(f"cannot reach {settings.endpoint}: {type(exc).__name__}: {exc}") from None


async def run_clauses(clauses: Iterable[Clause], settings: Settings, *,
                      on_result: Callable[[ClauseResult], None] | None = None) -> list[ClauseResult]:
    results = []
    async with open_session(settings.timeout) as session:
        client = WkpClient(session, settings.endpoint)
        await probe(client, settings)
        for clause in clauses:
            result = await run_clause(clause, client, settings)
            results.append(result)
            if on_result is not None:
                on_result(result)
    return results
