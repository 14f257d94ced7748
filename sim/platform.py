"""The platform as the simulator plays it: start delays, stop grace, spot interruptions, volumes, ids.

What a platform does to pods is data (emulator.platforms.profiles: fargate,
cloud-run, aci, kubernetes) plus the live supervisor's pure rules
(emulator.supervisor.policy: `after_exit` decides whether and when a pod is
replaced, `wipes_volume` whether a new pod starts on an empty volume). This
module turns a scenario's `[sim.platform]` and `[[sim.spot]]` tables into:

- `SimPlatform`: a profile with the scenario's overrides; it answers how long
  a new task takes to start (a seeded log-normal draw), how long a SIGTERM'd
  pod has before SIGKILL, whether a new pod's volume is empty, which instance
  id it gets, and what follows an exit (the live policy, not a copy);
- `SpotPlan`: when spot capacity is reclaimed, either at explicit times or
  at a rate per engine-hour (a Poisson process, drawn once per pod: the
  exponential is memoryless, so one draw per pod is exact and costs one
  event), and `spot_stop()`: the notice, the SIGTERM and the SIGKILL times.

Without `[sim.platform]` the simulated platform is the emulator's own (the
scenario's `[platform]` table, start delay 0 unless a calibration gives the
live boot time), so the simulator and the live stack run the same scenario
the same way. Pure: no I/O, no clock; randomness from RNGs the caller seeds
(`pod_rng`).
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from emulator.durations import parse_duration
from emulator.platforms.profiles import (ENGINE_PROFILES, Delay, EngineProfile, UnknownProfile,
                                         engine_profile)
from emulator.supervisor.config import PlatformConfig
from emulator.supervisor.policy import PodExit, Replacement, after_exit, wipes_volume

VOLUMES = {"ephemeral": "empty", "kept": "keep"}     # profile word -> live [platform] word
LIVE_VOLUMES = {v: k for k, v in VOLUMES.items()}
LOCAL = "local"  # the emulator's own platform: local processes, the scenario's [platform]


class SimConfigError(ValueError):
    """A bad sim-only table; the message starts with the key (e.g. `sim.platform.profile`)."""

    def __init__(self, key: str, message: str):
        super().__init__(f"{key}: {message}")
        self.key = key


# ---- small typed readers with errors naming the key -----------------------------------

def _number(table: Mapping, key: str, where: str, *, default=None, minimum: float = 0.0,
            allow_none: bool = False):
    value = table.get(key, default)
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise SimConfigError(f"{where}.{key}", f"must be a number, got {value!r}")
    if value < minimum:
        raise SimConfigError(f"{where}.{key}", f"must be at least {minimum:g}, got {value!r}")
    return float(value)


def _duration(table: Mapping, key: str, where: str, *, default=None):
    value = table.get(key, default)
    if value is None:
        return None
    try:
        seconds = parse_duration(value)
    except (ValueError, TypeError) as exc:
        raise SimConfigError(f"{where}.{key}", str(exc)) from None
    if seconds < 0:
        raise SimConfigError(f"{where}.{key}", f"must not be negative, got {value!r}")
    return float(seconds)


def _choice(table: Mapping, key: str, where: str, choices: Sequence[str], default=None):
    value = table.get(key, default)
    if value not in choices:
        raise SimConfigError(f"{where}.{key}", f"{value!r} is not one of {', '.join(choices)}")
    return value


def _no_unknown(table: Mapping, known: Sequence[str], where: str) -> None:
    if not isinstance(table, Mapping):
        raise SimConfigError(where, f"must be a table, got {table!r}")
    unknown = sorted(set(table) - set(known))
    if unknown:
        raise SimConfigError(f"{where}.{unknown[0]}", f"unknown key; known keys are {', '.join(known)}")


def pod_rng(seed: int | None, purpose: str, slot: str, generation: int) -> random.Random:
    """A pod's own RNG: its draws depend on the seed, the slot and the pod, not on the
    order in which the model happens to ask (so adding a kind does not move others)."""
    return random.Random(f"{seed}/{purpose}/{slot}/{generation}")


# ---- the platform ---------------------------------------------------------------------

@dataclass(frozen=True)
class StopTimes:
    """How a pod is stopped, in seconds from the decision: the notice (a spot warning;
    0 for a plain stop), SIGTERM, and SIGKILL if it has not exited by then."""
    notice: float
    sigterm: float
    sigkill: float


@dataclass(frozen=True)
class SimPlatform:
    name: str                      # a profile name, or "local"
    start_delay: Delay             # start a task -> its container runs (then the engine boots)
    stop_grace_s: float            # SIGTERM -> SIGKILL
    volume: str                    # "ephemeral" | "kept"
    instance_id: str               # "stable" | "new"
    replace_delay_s: float         # the scheduler's reaction to an exit before it starts the task
    spot_warning_s: float | None   # notice before spot capacity is reclaimed; None: no spot
    spot_term_after_s: float = 0.0  # notice -> SIGTERM (0: SIGTERM comes with the notice)

    KEYS = ("profile", "start_delay_median_s", "start_delay_p90_s", "stop_grace_s", "volume",
            "instance_id", "replace_delay_s", "spot_warning_s", "spot_term_after_s")

    @classmethod
    def local(cls, live: PlatformConfig = PlatformConfig(), start_delay_s: float = 0.0) -> "SimPlatform":
        """The emulator's own platform: what `wkp-emu up` does with the scenario's [platform]."""
        return cls(LOCAL, Delay(start_delay_s, start_delay_s), live.stop_grace_s,
                   LIVE_VOLUMES[live.recycle_volume], live.instance_id, live.replace_delay_s, None)

    @classmethod
    def from_profile(cls, profile: EngineProfile, replace_delay_s: float = 0.0) -> "SimPlatform":
        return cls(profile.name, profile.start_delay, profile.stop_grace_s, profile.volume,
                   profile.instance_id, replace_delay_s, profile.spot_warning_s)

    @classmethod
    def from_table(cls, table: Mapping[str, Any] | None, live: PlatformConfig = PlatformConfig(), *,
                   where: str = "sim.platform", start_delay_s: float = 0.0) -> "SimPlatform":
        """`[sim.platform]`: a profile and overrides; absent, the emulator's own platform.

        `live` is the scenario's `[platform]` table; its replace_delay_s applies
        to a profile too (the scheduler's reaction), unless overridden here.
        """
        if not table:
            return cls.local(live, start_delay_s)
        _no_unknown(table, cls.KEYS, where)
        name = table.get("profile", LOCAL)
        if name == LOCAL:
            base = cls.local(live, start_delay_s)
        else:
            try:
                base = cls.from_profile(engine_profile(name), live.replace_delay_s)
            except UnknownProfile:
                raise SimConfigError(f"{where}.profile", f"{name!r} is not a platform; platforms are "
                                     f"{', '.join((LOCAL,) + tuple(ENGINE_PROFILES))}") from None
        median = _number(table, "start_delay_median_s", where, default=base.start_delay.median_s)
        # A new median alone keeps the profile's spread (its p90/median ratio).
        spread = (base.start_delay.p90_s / base.start_delay.median_s
                  if base.start_delay.median_s else 1.0)
        p90 = _number(table, "start_delay_p90_s", where, default=median * spread)
        if p90 < median:
            raise SimConfigError(f"{where}.start_delay_p90_s",
                                 f"must be at least start_delay_median_s ({median:g}), got {p90:g}")
        grace = _number(table, "stop_grace_s", where, default=base.stop_grace_s)
        if grace <= 0:
            raise SimConfigError(f"{where}.stop_grace_s", f"must be positive, got {grace:g}")
        warning = _number(table, "spot_warning_s", where, default=base.spot_warning_s, allow_none=True)
        term_after = _number(table, "spot_term_after_s", where, default=base.spot_term_after_s)
        if warning is not None and term_after > warning:
            raise SimConfigError(f"{where}.spot_term_after_s",
                                 f"({term_after:g}) must not exceed spot_warning_s ({warning:g})")
        return cls(name, Delay(median, p90), grace,
                   _choice(table, "volume", where, tuple(VOLUMES), base.volume),
                   _choice(table, "instance_id", where, ("stable", "new"), base.instance_id),
                   _number(table, "replace_delay_s", where, default=base.replace_delay_s),
                   warning, term_after)

    # ---- what the live policy decides, through its own code ---------------------------

    def live_config(self) -> PlatformConfig:
        return PlatformConfig(recycle_volume=VOLUMES[self.volume], instance_id=self.instance_id,
                              stop_grace_s=self.stop_grace_s, replace_delay_s=self.replace_delay_s)

    def after_exit(self, exit: PodExit, *, shutting_down: bool = False) -> Replacement:
        """Replace the pod or not, after what delay, on which volume: policy.after_exit.
        The delay is the scheduler's; the new task's start delay comes on top."""
        return after_exit(exit, self.live_config(), shutting_down=shutting_down)

    def wipes_volume(self, origin: str) -> bool:
        return wipes_volume(self.live_config(), origin)

    def instance_id_env(self, slot: str) -> str | None:
        """WEFTKIT_PERSIST_INSTANCE_ID for a pod of `slot` (as fleet.engine_env sets it):
        the slot's name when ids are stable; None when each pod generates its own and
        keeps it on its volume (so a kept volume keeps the id, an empty one does not)."""
        return slot if self.instance_id == "stable" else None

    # ---- timings -------------------------------------------------------------------------

    def start_delay_s(self, rng: random.Random) -> float:
        return self.start_delay.sample(rng.gauss(0.0, 1.0))

    def stop(self) -> StopTimes:
        """A plain stop (scale in, recycle, shutdown): SIGTERM now, SIGKILL after the grace."""
        return StopTimes(0.0, 0.0, self.stop_grace_s)

    def spot_stop(self) -> StopTimes:
        """A spot reclaim: the notice now, SIGTERM `spot_term_after_s` later, and the
        capacity gone (SIGKILL) at the end of the warning or the grace, whichever is first."""
        if self.spot_warning_s is None:
            raise SimConfigError("sim.platform.spot_warning_s",
                                 f"the {self.name} platform has no spot capacity; set spot_warning_s")
        term = self.spot_term_after_s
        return StopTimes(0.0, term, min(self.spot_warning_s, term + self.stop_grace_s))


# ---- spot interruptions ------------------------------------------------------------------

@dataclass(frozen=True)
class SpotAt:
    """An interruption at a fixed time: one engine, or the first `count` of a kind."""
    at: float
    engine: str | None = None
    kind: str | None = None
    count: int = 1


@dataclass(frozen=True)
class SpotRate:
    """Interruptions at `per_engine_hour` for each running engine (of `kind`, if given),
    between `start` and `end` (scenario time)."""
    per_engine_hour: float
    kind: str | None = None
    start: float = 0.0
    end: float = math.inf

    def draw(self, rng: random.Random, started_at: float) -> float | None:
        """When a pod started at `started_at` is reclaimed, or None (not in this window)."""
        if self.per_engine_hour <= 0:
            return None
        at = max(started_at, self.start) + rng.expovariate(self.per_engine_hour / 3600.0)
        return at if at < self.end else None


@dataclass(frozen=True)
class SpotPlan:
    fixed: tuple[SpotAt, ...] = ()
    rates: tuple[SpotRate, ...] = ()

    KEYS = ("at", "engine", "kind", "count", "rate_per_engine_hour", "from", "until")

    @property
    def empty(self) -> bool:
        return not self.fixed and not self.rates

    @classmethod
    def from_tables(cls, tables: Sequence[Mapping[str, Any]] | None, *, where: str = "sim.spot",
                    duration: float | None = None, kinds: Sequence[str] | None = None,
                    platform: SimPlatform | None = None) -> "SpotPlan":
        """`[[sim.spot]]` entries: `at` + (`engine` | `kind` [+ `count`]), or
        `rate_per_engine_hour` [+ `kind`, `from`, `until`]."""
        if not tables:
            return cls()
        if not isinstance(tables, (list, tuple)):
            raise SimConfigError(where, "must be an array of tables ([[sim.spot]])")
        if platform is not None and platform.spot_warning_s is None:
            raise SimConfigError(where, f"the {platform.name} platform has no spot capacity; "
                                        "choose a profile with spot (fargate, aci) or set "
                                        "sim.platform.spot_warning_s")
        fixed, rates = [], []
        for i, table in enumerate(tables, 1):
            at_where = f"{where}.{i}"
            _no_unknown(table, cls.KEYS, at_where)
            kind = table.get("kind")
            if kind is not None and kinds is not None and kind not in kinds:
                raise SimConfigError(f"{at_where}.kind", f"{kind!r} is not in the fleet "
                                     f"({', '.join(kinds) or 'empty'})")
            if ("at" in table) == ("rate_per_engine_hour" in table):
                raise SimConfigError(at_where, "give either at (one interruption) or "
                                               "rate_per_engine_hour (a random schedule)")
            if "at" in table:
                at = _duration(table, "at", at_where)
                if duration is not None and at > duration:
                    raise SimConfigError(f"{at_where}.at", f"{at:g}s is after the scenario's "
                                                           f"duration ({duration:g}s)")
                engine = table.get("engine")
                if (engine is None) == (kind is None):
                    raise SimConfigError(at_where, "give engine (one engine) or kind (its engines)")
                if engine is not None and not isinstance(engine, str):
                    raise SimConfigError(f"{at_where}.engine", f"must be an engine name, got {engine!r}")
                count = table.get("count", 1)
                if isinstance(count, bool) or not isinstance(count, int) or count < 1:
                    raise SimConfigError(f"{at_where}.count", f"must be a whole number >= 1, got {count!r}")
                if engine is not None and "count" in table:
                    raise SimConfigError(f"{at_where}.count", "goes with kind, not engine")
                fixed.append(SpotAt(at, engine, kind, count))
            else:
                for key in ("engine", "count"):
                    if key in table:
                        raise SimConfigError(f"{at_where}.{key}", "goes with at, not with a rate")
                rate = _number(table, "rate_per_engine_hour", at_where)
                start = _duration(table, "from", at_where, default=0.0)
                end = _duration(table, "until", at_where)
                end = math.inf if end is None else end
                if end <= start:
                    raise SimConfigError(f"{at_where}.until", "must be after from")
                rates.append(SpotRate(rate, kind, start, end))
        return cls(tuple(sorted(fixed, key=lambda s: s.at)), tuple(rates))

    def reclaim_at(self, kind: str, started_at: float, rng: random.Random) -> float | None:
        """When spot capacity under a pod of `kind` that started at `started_at` is reclaimed
        by the random schedule (the earliest over the rates that apply), or None."""
        draws = [r.draw(rng, started_at) for r in self.rates if r.kind in (None, kind)]
        draws = [d for d in draws if d is not None]
        return min(draws) if draws else None

    def targets(self, spot: SpotAt, running: Sequence[str], kind_of) -> list[str]:
        """The engines a fixed interruption hits among `running` (names in the fleet's order)."""
        if spot.engine is not None:
            return [spot.engine] if spot.engine in running else []
        return [e for e in running if kind_of(e) == spot.kind][:spot.count]
