"""Target-tracking autoscaling with cooldowns, as a pure policy that issues scale decisions.

Target tracking (ECS Service Auto Scaling, Kubernetes' HPA) holds a metric
per running engine near a target: with a total M over the kind's running
engines and a target t per engine, the capacity it asks for is ceil(M / t)
(the HPA's ceil(current * value / target) with value = M / current), kept
within [min_replicas, max_replicas]. Cooldowns keep it from flapping:

- scale out is quick: it waits only `scale_out_cooldown_s` after the
  previous scale-out (more load arriving during a scale-out is met by the
  next evaluation after that cooldown);
- scale in is cautious: it waits `scale_in_cooldown_s` after the last
  scaling of either direction, so capacity added for a burst is not taken
  away the moment the burst's metric dips, and a `tolerance` band (10 %)
  around the target ignores noise in both directions.

The load itself is a `LoadCurve`: the kind's total offered writes per second
over scenario time, piecewise linear between points, shared among the
running engines. Pure: the caller passes the time and the metric; no clock.
"""
from __future__ import annotations

import bisect
import math
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from .platform import SimConfigError, _duration, _no_unknown, _number

METRICS = ("writes_per_s",)  # per running engine, averaged over the evaluation interval


@dataclass(frozen=True)
class LoadCurve:
    """Total offered load (writes/s for the whole kind) against scenario time."""
    points: tuple[tuple[float, float], ...]   # (time s, writes/s), times increasing

    def __post_init__(self):
        if not self.points:
            raise ValueError("a load curve needs at least one point")

    def at(self, t: float) -> float:
        times = [p[0] for p in self.points]
        i = bisect.bisect_right(times, t)
        if i == 0:
            return self.points[0][1]
        if i == len(self.points):
            return self.points[-1][1]
        (t0, v0), (t1, v1) = self.points[i - 1], self.points[i]
        return v0 + (v1 - v0) * (t - t0) / (t1 - t0)

    def mean(self, start: float, end: float) -> float:
        """The average over [start, end] (exact for a piecewise-linear curve)."""
        if end <= start:
            return self.at(start)
        cuts = [start] + [t for t, _ in self.points if start < t < end] + [end]
        area = sum((b - a) * (self.at(a) + self.at(b)) / 2 for a, b in zip(cuts, cuts[1:]))
        return area / (end - start)

    @classmethod
    def from_value(cls, value: Any, where: str) -> "LoadCurve":
        """A number (constant) or [[time, writes/s], ...] with times as durations."""
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if value < 0:
                raise SimConfigError(where, f"must not be negative, got {value!r}")
            return cls(((0.0, float(value)),))
        if not isinstance(value, (list, tuple)) or not value:
            raise SimConfigError(where, "must be writes per second, or a list of "
                                        "[time, writes per second] points like [\"0h\", 200]")
        points = []
        for i, point in enumerate(value, 1):
            if not isinstance(point, (list, tuple)) or len(point) != 2:
                raise SimConfigError(f"{where}.{i}", f"must be [time, writes per second], got {point!r}")
            t = _duration({"time": point[0]}, "time", f"{where}.{i}")
            rate = _number({"rate": point[1]}, "rate", f"{where}.{i}")
            if points and t <= points[-1][0]:
                raise SimConfigError(f"{where}.{i}", f"times must increase ({t:g}s after "
                                                     f"{points[-1][0]:g}s)")
            points.append((t, rate))
        return cls(tuple(points))


@dataclass(frozen=True)
class AutoscalePolicy:
    kind: str
    target: float                       # metric per running engine to hold
    min_replicas: int = 1
    max_replicas: int = 10
    metric: str = "writes_per_s"
    interval_s: float = 60.0            # how often the metric is evaluated (CloudWatch: 1 min)
    scale_out_cooldown_s: float = 60.0
    scale_in_cooldown_s: float = 300.0  # ECS's default for both is 300 s; scale-out is quicker here
    tolerance: float = 0.1
    load: LoadCurve | None = None       # the kind's offered load; None: the engines' own workload

    KEYS = ("kind", "metric", "target", "min_replicas", "max_replicas", "interval",
            "scale_out_cooldown", "scale_in_cooldown", "tolerance", "load")

    def __post_init__(self):
        if self.metric not in METRICS:
            raise ValueError(f"metric {self.metric!r} is not one of {', '.join(METRICS)}")
        if not self.target > 0:
            raise ValueError(f"target must be positive, got {self.target}")
        if not 0 <= self.min_replicas <= self.max_replicas:
            raise ValueError(f"need 0 <= min_replicas ({self.min_replicas}) <= max_replicas "
                             f"({self.max_replicas})")
        if not self.interval_s > 0:
            raise ValueError(f"interval must be positive, got {self.interval_s}")

    @classmethod
    def from_table(cls, table: Mapping[str, Any], *, where: str = "sim.autoscale",
                   kinds: Sequence[str] | None = None) -> "AutoscalePolicy":
        """`[sim.autoscale]` (or one of `[[sim.autoscale]]`): errors name the key."""
        _no_unknown(table, cls.KEYS, where)
        kind = table.get("kind")
        if not isinstance(kind, str) or (kinds is not None and kind not in kinds):
            known = f" (the fleet has {', '.join(kinds)})" if kinds is not None else ""
            raise SimConfigError(f"{where}.kind", f"must name a kind of the fleet{known}, got {kind!r}")
        metric = table.get("metric", "writes_per_s")
        if metric not in METRICS:
            raise SimConfigError(f"{where}.metric", f"{metric!r} is not one of {', '.join(METRICS)}")
        target = _number(table, "target", where)
        if target <= 0:
            raise SimConfigError(f"{where}.target", f"must be positive, got {target:g}")
        counts = {}
        for key, default in (("min_replicas", 1), ("max_replicas", 10)):
            value = table.get(key, default)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise SimConfigError(f"{where}.{key}", f"must be a whole number >= 0, got {value!r}")
            counts[key] = value
        if counts["min_replicas"] > counts["max_replicas"]:
            raise SimConfigError(f"{where}.max_replicas", f"({counts['max_replicas']}) is below "
                                 f"min_replicas ({counts['min_replicas']})")
        interval = _duration(table, "interval", where, default=60.0)
        if interval <= 0:
            raise SimConfigError(f"{where}.interval", "must be positive")
        tolerance = _number(table, "tolerance", where, default=0.1)
        if tolerance >= 1:
            raise SimConfigError(f"{where}.tolerance", f"must be below 1, got {tolerance:g}")
        out_cooldown = _duration(table, "scale_out_cooldown", where, default=60.0)
        in_cooldown = _duration(table, "scale_in_cooldown", where, default=300.0)
        if "load" not in table:  # each engine's own constant rate would make the metric per engine fixed
            raise SimConfigError(f"{where}.load", "required: the kind's offered writes per second, "
                                                  "a number or [[time, writes per second], ...]")
        load = LoadCurve.from_value(table["load"], f"{where}.load")
        return cls(kind, target, counts["min_replicas"], counts["max_replicas"], metric, interval,
                   out_cooldown, in_cooldown, tolerance, load)

    def desired(self, metric_total: float, running: int) -> int:
        """The capacity target tracking asks for, before cooldowns, within [min, max]."""
        if running > 0:
            ratio = metric_total / (running * self.target)
            if abs(ratio - 1.0) <= self.tolerance:
                return self._clamp(running)  # close enough: leave it
        want = math.ceil(metric_total / self.target - 1e-9) if metric_total > 0 else 0
        return self._clamp(want)

    def _clamp(self, n: int) -> int:
        return max(self.min_replicas, min(self.max_replicas, n))


@dataclass(frozen=True)
class AutoscaleState:
    last_out: float | None = None   # time of the last scale-out decision
    last_in: float | None = None    # time of the last scale-in decision

    @property
    def last_any(self) -> float | None:
        times = [t for t in (self.last_out, self.last_in) if t is not None]
        return max(times) if times else None


@dataclass(frozen=True)
class ScaleDecision:
    """Scale `kind` from `replicas_from` to `replicas_to` at `at` (a `scale` step's effect)."""
    kind: str
    at: float
    replicas_from: int
    replicas_to: int
    metric_per_engine: float
    reason: str


def decide(policy: AutoscalePolicy, state: AutoscaleState, now: float, metric_total: float,
           replicas: int, running: int | None = None
           ) -> tuple[ScaleDecision | None, AutoscaleState, str]:
    """One evaluation: (the decision or None, the new state, why).

    `replicas` is the kind's desired count so far (pods starting included),
    `running` the pods that serve and share the load (default: replicas; it only
    shows in the reported per-engine metric). The metric is the total over the kind.
    """
    running = replicas if running is None else running
    per_engine = metric_total / running if running else (math.inf if metric_total else 0.0)
    # Against the desired count, not the running one: pods still starting are capacity
    # on its way, and counting them out would scale out again for the same load.
    want = policy.desired(metric_total, replicas)
    if want == replicas:
        return None, state, "on target"
    if want > replicas:
        if state.last_out is not None and now < state.last_out + policy.scale_out_cooldown_s:
            return None, state, f"scale-out cooldown until {state.last_out + policy.scale_out_cooldown_s:g}s"
        decision = ScaleDecision(policy.kind, now, replicas, want, per_engine,
                                 f"{policy.metric} {per_engine:.4g} per engine above target "
                                 f"{policy.target:g}")
        return decision, AutoscaleState(now, state.last_in), decision.reason
    last = state.last_any
    if last is not None and now < last + policy.scale_in_cooldown_s:
        return None, state, f"scale-in cooldown until {last + policy.scale_in_cooldown_s:g}s"
    decision = ScaleDecision(policy.kind, now, replicas, want, per_engine,
                             f"{policy.metric} {per_engine:.4g} per engine below target "
                             f"{policy.target:g}")
    return decision, AutoscaleState(state.last_out, now), decision.reason
