"""When the view lets Python's garbage collector walk everything it holds.

A full collection walks every object the process keeps (the fleet, its cells, the
screens): a few milliseconds on a quiet core, tens on a loaded one, and if it
lands between a key press and its paint the user sees the stall. So while the view
runs, full collections are not left to chance: the young generations are collected
as usual (they are small), and the full one runs when Python's own rule asks for
it (the old generation grew by a quarter since the last) but only once the
keyboard has been quiet for a moment, and at the latest every five minutes. What
exists when the view starts (modules, classes, styles) is frozen out of the
collector's sight for the view's life. Textual pauses the collector during smooth
scrolling for the same reason (App.PAUSE_GC_ON_SCROLL).
"""
from __future__ import annotations

import gc
import time

IDLE_S = 1.0        # no key for this long: a pause stalls nobody
GROWTH = 0.25       # as Python's own rule: a full collection once the old objects grew by a quarter
AT_LATEST_S = 300.0  # and at the latest this often, keys or not, grown or not
NEVER = 10**9       # a generation-2 threshold the collector never reaches on its own


def full_collection_due(now: float, last_key_at: float, last_full_at: float,
                        old_objects: int, after_last_full: int) -> bool:
    """Whether to run a full collection now (pure; times in seconds, one clock): when
    the old generation grew by GROWTH since the last one (Python's own rule) and no
    key was pressed for IDLE_S, or when AT_LATEST_S passed."""
    grown = old_objects > after_last_full * (1 + GROWTH)
    return now - last_full_at >= AT_LATEST_S or (grown and now - last_key_at >= IDLE_S)


class Collector:
    def __init__(self, clock=time.monotonic) -> None:
        self.clock = clock
        self.last_key_at = self.last_full_at = clock()
        self.full_collections = 0
        self.after_last_full = 0  # objects in the old generation after the last full collection
        self._saved: tuple[int, int, int] | None = None

    def start(self) -> None:
        """Freeze what exists and take generation 2 out of the automatic schedule."""
        self._saved = gc.get_threshold()
        gc.freeze()
        gc.set_threshold(self._saved[0], self._saved[1], NEVER)
        self.after_last_full = len(gc.get_objects(2))

    def key(self) -> None:
        self.last_key_at = self.clock()

    def tick(self) -> None:
        """Called every second or so: a full collection if one is due."""
        now = self.clock()
        if now - self.last_full_at < AT_LATEST_S and (gc.get_count()[2] < 10 or now - self.last_key_at < IDLE_S):
            return  # as Python: the old generation is looked at after ten middle collections
        if full_collection_due(now, self.last_key_at, self.last_full_at, len(gc.get_objects(2)),
                               self.after_last_full):
            gc.collect()
            self.last_full_at = self.clock()
            self.after_last_full = len(gc.get_objects(2))
            self.full_collections += 1

    def stop(self) -> None:
        """As before start (the process may go on without the view: `up` kept running)."""
        if self._saved is not None:
            gc.set_threshold(*self._saved)
            gc.unfreeze()
            self._saved = None
