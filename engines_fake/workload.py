"""The optional built-in workload generator (WEFTKIT_ENGINE_WORKLOAD_RATE > 0, or
`auto` for the kind's typical rate: inmemory 500/s, filestore 1/s, ...).

Writes the kind's typical values (kinds.py) to random keys of the kind's key
space at a steady rate, through the same write path as the data API, so the
ledger, the witness and persistence see them like any client write. It stops
when the engine stops accepting writes (SIGTERM).

Optional shape: `_VALUE_BYTES` sizes every value, `_DELETES` turns that share
of operations into deletes of a key written before, `_BURST_WRITES` /
`_BURST_EVERY` add that many writes at once every so many seconds. With
`_SEED`, the sequence of keys, values and deletes is a function of the seed and
the instance id only, so a scenario replayed with the same seed writes the same
keys (and two replicas do not write the same sequence).
"""
from __future__ import annotations

import asyncio
import logging
import random

from .kinds import sized

log = logging.getLogger("wkp.engine.workload")


class _Operations:
    """The generator's next operations: pure given its RNG."""

    def __init__(self, engine):
        cfg, prof = engine.config.workload, engine.profile
        seed = f"{cfg.seed}:{engine.instance_id}" if cfg.seed is not None else None
        self.rng = random.Random(seed)
        self.kind, self.cfg = engine.kind, cfg
        self.keys = cfg.keys or prof.default_keys
        self.written: set[str] = set()
        self.i = 0

    def next(self) -> tuple[str, bytes | None]:
        self.i += 1
        if self.written and self.cfg.deletes and self.rng.random() < self.cfg.deletes:
            key = self.rng.choice(sorted(self.written)) if len(self.written) < 4096 else \
                f"{self.kind}-{self.rng.randrange(self.keys)}"
            if key in self.written:
                self.written.discard(key)
                return key, None
        key = f"{self.kind}-{self.rng.randrange(self.keys)}"
        self.written.add(key)
        return key, sized(self.kind, self.rng, self.i, self.cfg.value_bytes)


def _apply(engine, ops: _Operations, n: int = 1) -> bool:
    """Carry out n operations; False once the engine refuses writes (shutting down)."""
    from .api import WriteRefused
    for _ in range(n):
        key, value = ops.next()
        try:
            engine.write(key, value)
        except WriteRefused:
            return False
    return True


async def _steady(engine, ops: _Operations, rate: float) -> None:
    interval = 1.0 / rate
    loop = asyncio.get_running_loop()
    due = loop.time()
    while True:
        due += interval
        await asyncio.sleep(max(0.0, due - loop.time()))
        if not _apply(engine, ops):
            return


async def _bursts(engine, ops: _Operations) -> None:
    cfg = engine.config.workload
    while True:
        await asyncio.sleep(cfg.burst_every_s)
        if not _apply(engine, ops, cfg.burst_writes):
            return


async def _generate(engine) -> None:
    ops = _Operations(engine)
    tasks = []
    if rate_of(engine) > 0:
        tasks.append(_steady(engine, ops, rate_of(engine)))
    if engine.config.workload.burst_writes:
        tasks.append(_bursts(engine, ops))
    await asyncio.gather(*tasks)


def rate_of(engine) -> float:
    cfg = engine.config.workload
    return engine.profile.default_rate if cfg.auto else cfg.rate


def start(engine) -> asyncio.Task | None:
    """The generator task, or None when there is nothing to generate (the default)."""
    cfg = engine.config.workload
    if rate_of(engine) <= 0 and not cfg.burst_writes:
        return None
    log.info("workload: %.1f writes/s of %s%s", rate_of(engine), engine.profile.shape,
             f", bursts of {cfg.burst_writes} every {cfg.burst_every_s:g}s" if cfg.burst_writes else "")
    return asyncio.create_task(_generate(engine))
