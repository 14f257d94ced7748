"""The optional built-in workload generator (WEFTKIT_ENGINE_WORKLOAD_RATE > 0, or
`auto` for the kind's typical rate: inmemory 500/s, filestore 1/s, ...).

Writes the kind's typical values (kinds.py) to random keys of the kind's key
space at a steady rate, through the same write path as the data API, so the
ledger, the witness and persistence see them like any client write. It stops
when the engine stops accepting writes (SIGTERM).
"""
from __future__ import annotations

import asyncio
import logging
import random

log = logging.getLogger("wkp.engine.workload")


async def _generate(engine) -> None:
    from .api import WriteRefused
    cfg, prof = engine.config.workload, engine.profile
    rng = random.Random(cfg.seed)
    keys = cfg.keys or prof.default_keys
    interval = 1.0 / rate_of(engine)
    loop = asyncio.get_running_loop()
    due, i = loop.time(), 0
    while True:
        due += interval
        await asyncio.sleep(max(0.0, due - loop.time()))
        i += 1
        try:
            engine.write(f"{engine.kind}-{rng.randrange(keys)}", prof.generate(rng, i))
        except WriteRefused:
            return


def rate_of(engine) -> float:
    cfg = engine.config.workload
    return engine.profile.default_rate if cfg.auto else cfg.rate


def start(engine) -> asyncio.Task | None:
    """The generator task, or None when the rate is 0 (the default)."""
    if rate_of(engine) <= 0:
        return None
    log.info("workload: %.1f writes/s of %s", rate_of(engine), engine.profile.shape)
    return asyncio.create_task(_generate(engine))
