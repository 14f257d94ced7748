"""How long an engine process takes to start on the local process backend, by how many start at once.

The calibration (`[engine_start]`, measured by bench/calibrate.py beside a
working fleet) gives, for k engines started at once, the time from the pod's
`engine.starting` to `engine.started` of the last of them (a median over
batches) and its spread (10th and 90th percentiles). Started alone, an engine
still shares two cores with a fleet that writes and pushes; started with
others, the starts share the CPU and the batch takes longer.

The model reads it as a pod's start delay: a pod that starts while j other
pods are still starting takes what the last of j + 1 started at once took, so
k pods started at one instant serve staggered, the last one when the measured
batch does. Between measured counts the median and percentiles are
interpolated linearly; beyond the largest they grow by its last segment's
slope (each further start brings its share of CPU). A draw is a split
lognormal around the median: below it, the log's width puts the 10th
percentile where it was measured, above it the 90th (1.2816 standard
deviations each), so a draw is never negative and keeps the long upper tail of
a loaded machine's starts.

The delay the world waits is process start to the engine's first request: the
measured start less the restore round trip that the model then plays itself
(`less_s`). Pure: draws take the caller's seeded `random.Random`.
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass

Z90 = 1.2815515655446004  # the standard normal's 90th percentile


@dataclass(frozen=True)
class StartPoint:
    concurrent: int     # engines started at once
    median_s: float     # engine.starting to engine.started of the batch's last, median over batches
    p10_s: float
    p90_s: float


@dataclass(frozen=True)
class StartTimes:
    points: tuple[StartPoint, ...]   # by concurrent, increasing; at least one
    less_s: float = 0.0              # taken off every draw: the restore round trip the model adds

    def __post_init__(self):
        if not self.points:
            raise ValueError("StartTimes needs at least one measured point")
        ks = [p.concurrent for p in self.points]
        if ks != sorted(set(ks)) or ks[0] < 1:
            raise ValueError(f"measured concurrencies must be increasing whole numbers >= 1, got {ks}")

    @classmethod
    def fixed(cls, seconds: float) -> "StartTimes":
        """One start time whatever starts beside it (a profile measured before [engine_start])."""
        return cls((StartPoint(1, seconds, seconds, seconds),))

    @classmethod
    def from_rows(cls, rows, less_s: float = 0.0) -> "StartTimes":
        """From [[concurrent, median_s, p10_s, p90_s], ...] (the model parameters' JSON-able form)."""
        return cls(tuple(StartPoint(int(k), float(m), float(lo), float(hi)) for k, m, lo, hi in rows),
                   float(less_s))

    def rows(self) -> list[list[float]]:
        return [[p.concurrent, p.median_s, p.p10_s, p.p90_s] for p in self.points]

    def _at(self, k: int, field: str) -> float:
        pts = self.points
        if len(pts) == 1 or k <= pts[0].concurrent:
            return getattr(pts[0], field)
        for a, b in zip(pts, pts[1:]):
            if k <= b.concurrent:
                break
        ya, yb = getattr(a, field), getattr(b, field)
        return ya + (yb - ya) * (k - a.concurrent) / (b.concurrent - a.concurrent)

    def median_s(self, concurrent: int) -> float:
        """The measured start of the last of `concurrent` started at once (interpolated)."""
        return max(0.0, self._at(max(1, concurrent), "median_s"))

    def sigmas(self, concurrent: int) -> tuple[float, float]:
        """The log's width below and above the median at this concurrency (0: no spread measured)."""
        k = max(1, concurrent)
        median, lo, hi = self.median_s(k), self._at(k, "p10_s"), self._at(k, "p90_s")
        if median <= 0.0:
            return 0.0, 0.0
        below = math.log(median / lo) / Z90 if 0.0 < lo < median else 0.0
        above = math.log(hi / median) / Z90 if hi > median else 0.0
        return below, above

    def draw(self, concurrent: int, rng: random.Random) -> float:
        """A start delay for a pod that starts while `concurrent - 1` others are starting."""
        median = self.median_s(concurrent)
        below, above = self.sigmas(concurrent)
        if below or above:  # a fixed start (one value measured) draws nothing
            z = rng.gauss(0.0, 1.0)
            median *= math.exp((below if z < 0 else above) * z)
        return max(0.0, median - self.less_s)


def start_times(parameters: dict | None) -> StartTimes:
    """The model parameters' start times (Calibration.model_parameters, perhaps overridden):
    the measured rows by concurrency when there are some, else one fixed `engine_start_s`."""
    parameters = parameters or {}
    rows = parameters.get("engine_start_by_concurrency")
    if rows:
        return StartTimes.from_rows(rows, parameters.get("engine_start_less_s", 0.0))
    return StartTimes.fixed(float(parameters.get("engine_start_s", 0.5)))
