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

At run time, `switch` (POST /admin/workload) replaces the rate and value size
and restarts the generator: the TUI and the control API turn a workload on and
off per engine or per kind without a new pod. The other settings are kept.
"""
from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import replace

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


MAX_RATE = 100000.0
MAX_VALUE_BYTES = 64 * 1024 * 1024


class WorkloadRejected(ValueError):
    """A runtime workload setting out of range; the message names the field."""


def parse_switch(body) -> tuple[float | str, int | None]:
    """(rate or "auto", value_bytes or None to keep) from a POST /admin/workload body."""
    if not isinstance(body, dict) or "rate" not in body:
        raise WorkloadRejected('expected {"rate": writes per second or "auto", "value_bytes": n}')
    rate, value_bytes = body["rate"], body.get("value_bytes")
    if rate != "auto" and (isinstance(rate, bool) or not isinstance(rate, (int, float))
                           or not 0 <= rate <= MAX_RATE):
        raise WorkloadRejected(f'rate must be writes per second from 0 to {MAX_RATE:g}, or "auto", '
                               f"got {rate!r}")
    if value_bytes is not None and (isinstance(value_bytes, bool) or not isinstance(value_bytes, int)
                                    or not 0 <= value_bytes <= MAX_VALUE_BYTES):
        raise WorkloadRejected(f"value_bytes must be a whole number from 0 (the kind's typical "
                               f"size) to {MAX_VALUE_BYTES}, got {value_bytes!r}")
    unknown = set(body) - {"rate", "value_bytes"}
    if unknown:
        raise WorkloadRejected(f"unknown field {sorted(unknown)[0]!r} (rate, value_bytes)")
    return rate, value_bytes


def describe(engine) -> dict:
    """What GET /admin/workload answers: the settings and whether the generator runs."""
    cfg = engine.config.workload
    return {"rate": rate_of(engine), "auto": cfg.auto, "value_bytes": cfg.value_bytes,
            "keys": cfg.keys, "deletes": cfg.deletes, "burst_writes": cfg.burst_writes,
            "running": engine.workload_running}


def switch(engine, rate: float | str, value_bytes: int | None = None) -> dict:
    """New rate (0: off) and value size; the generator restarts with them if the engine
    accepts writes (a stopping engine keeps the setting and generates nothing)."""
    cfg = engine.config.workload
    new = replace(cfg, auto=rate == "auto", rate=0.0 if rate == "auto" else float(rate),
                  value_bytes=cfg.value_bytes if value_bytes is None else value_bytes)
    engine.config = replace(engine.config, workload=new)
    engine.restart_workload()
    log.info("workload switched: %.1f writes/s, value_bytes %d", rate_of(engine), new.value_bytes)
    return describe(engine)
