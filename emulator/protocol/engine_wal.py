"""The engine machine's WAL part: count writes, decide compactions."""
from __future__ import annotations

from dataclasses import dataclass, replace

from .engine_core import EngineCore
from .engine_events import Compact, Log, Wrote


@dataclass(slots=True)
class WalState:
    wal_bytes: int = 0    # written since the last compaction


class WalPart:
    __slots__ = ("core", "s", "_persists", "_compact_bytes")

    def __init__(self, core: EngineCore):
        self.core, self.s = core, WalState()
        # read once: on_wrote is the commonest event, and the config is frozen
        self._persists, self._compact_bytes = core.config.persists, core.config.compact_bytes

    def on_wrote(self, ev: Wrote, out) -> None:
        c, s = self.core.s, self.s
        if ev.lsn > c.lsn:
            c.lsn = ev.lsn
            if self._persists:
                c.unpushed_bytes += ev.nbytes
        s.wal_bytes += ev.nbytes
        if s.wal_bytes >= self._compact_bytes:
            self.compact(out)

    def compact(self, out) -> None:
        """Keep the WAL after the durable cursor (deltas need it) unless it grew
        past the buffer bound during a long outage: then drop it and make the
        next push a full, which carries everything anyway."""
        core, cfg = self.core, self.core.config
        c, s = core.s, core.s.persisted
        retain = c.lsn
        if cfg.persists and s.durable is not None and s.durable.epoch == s.epoch and not s.force_full:
            if c.unpushed_bytes <= cfg.buffer_bytes:
                retain = s.durable.seq
            else:
                core.save(replace(s, force_full=True), out)
                out.append(Log("warning", f"{c.unpushed_bytes} unacknowledged WAL bytes exceed "
                                          f"the {cfg.buffer_bytes}-byte bound: next push is a full"))
        self.s.wal_bytes = 0
        out.append(Compact(retain))
