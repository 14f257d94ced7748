"""When the view lets Python's garbage collector walk everything it holds.

A full collection walks every object the process keeps (the fleet, its cells, the
screens): a few milliseconds on a quiet core, tens on a loaded one, and if it
lands between a key press and its paint the user sees the stall. So while the view
runs, full collections are not left to chance: the young generations are collected
as usual (they are small), and the full one runs when the keyboard has been quiet
for a moment, and at the latest every minute so memory stays bounded. What
exists when the view starts (modules, classes, styles) is frozen out of the
collector's sight for the view's life. Textual pauses the collector during smooth
scrolling for the same reason (App.PAUSE_GC_ON_SCROLL).
"""
from __future__ import annotations

import gc
import time

IDLE_S = 1.0        # no key for this long: a pause stalls nobody
EVERY_S = 10.0      # full collections while idle, at most this often
AT_LATEST_S = 60.0  # and at the latest this often, keys or not
NEVER = 10**9       # a generation-2 threshold the collector never reaches on its own


def full_collection_due(now: float, last_key_at: float, last_full_at: float) -> bool:
    """Whether to run a full collection now (pure; times in seconds, one clock)."""
    since_full = now - last_full_at
    return since_full >= AT_LATEST_S or (now - last_key_at >= IDLE_S and since_full >= EVERY_S)


class Collector:
    def __init__(self, clock=time.monotonic) -> None:
        self.clock = clock
        self.last_key_at = self.last_full_at = clock()
        self.full_collections = 0
        self._saved: tuple[int, int, int] | None = None

    def start(self) -> None:
        """Freeze what exists and take generation 2 out of the automatic schedule."""
        self._saved = gc.get_threshold()
        gc.freeze()
        gc.set_threshold(self._saved[0], self._saved[1], NEVER)

    def key(self) -> None:
        self.last_key_at = self.clock()

    def tick(self) -> None:
        """Called every second or so: a full collection if one is due."""
        now = self.clock()
        if full_collection_due(now, self.last_key_at, self.last_full_at):
            gc.collect()
            self.last_full_at = self.clock()
            self.full_collections += 1

    def stop(self) -> None:
        """As before start (the process may go on without the view: `up` kept running)."""
        if self._saved is not None:
            gc.set_threshold(*self._saved)
            gc.unfreeze()
            self._saved = None
