"""Chaos schedules: a seed in, a scenario (TOML text, checked by the scenario loader) out. Pure.

A schedule is a handful of *moves* drawn from the fault menu at random times
inside a short window, then a verification tail:

    clear_faults                      every fault ends
    recycle KIND (each kind checked)  SIGTERM, final flush, a new pod on an
                                      empty volume that restores from the store

Every new pod compares what it restored with its slot's witness (every write
and push the engine ever acknowledged, kept outside the volume), so the
recycles of the tail prove that nothing acknowledged was lost and that each
restore was whole (a restore holding part of a push shows as mismatched
values, or as a boot that fails). A move's steps are contiguous (scale to zero
is followed by its scale back before any other move), so every engine a step
names exists at that step, which the loader checks anyway.

The same seed gives the same text: `random.Random(seed)` is the only source
of randomness, and nothing here reads the clock or the stack.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field

from emulator.scenario import toml_out
from emulator.scenario.loader import parse_scenario
from emulator.scenario.model import Scenario

KINDS = ("relational", "document", "graph", "inmemory", "keyvalue", "vector", "markdown", "filestore")
# Modest writes per second per kind (filestore's values are cut to 32 KiB).
RATES = {"relational": 8, "document": 4, "graph": 8, "inmemory": 16, "keyvalue": 8, "vector": 4,
         "markdown": 2, "filestore": 0.5}
WINDOW_S = (4.0, 7.0)          # the moves happen in the first 4-7 s
MOVES_PER_SCHEDULE = (1, 3)
FLEETWIDE_CHECKED_KINDS = 2    # kinds recycled after a fault every engine saw (see verify_kinds)


def fleet_tables() -> dict:
    """The campaign's fleet: all eight kinds, one replica each, a workload per kind,
    a push every second, discovery on. Both the long-lived emulator and every
    schedule's tables (so the loader checks engine names against it) use it."""
    return {
        "platform": {"stop_grace_s": 20},
        "defaults": {"env": {"WEFTKIT_PERSIST_SCHEDULE": "* * * * * *",
                             "WEFTKIT_PERSIST_BACKOFF_BASE": "0.2",
                             "WEFTKIT_PERSIST_SHUTDOWN_BUDGET": "8",
                             "WEFTKIT_PERSIST_REQUEST_TIMEOUT": "10"}},
        "discovery": {"enabled": True},
        "fleet": {k: {"replicas": 1} for k in KINDS},
        "workload": {k: ({"rate": r, "value_bytes": 32768} if k == "filestore" else {"rate": r})
                     for k, r in RATES.items()},
    }


def emulator_toml() -> str:
    return toml_out.dumps(fleet_tables())


# ---- the fault menu ----------------------------------------------------------------------
# Each move: (rng, engine kind) -> its steps (dicts without timing) and what it is.
@dataclass(frozen=True)
class Move:
    name: str                   # the fault's kind, as the campaign counts it
    steps: tuple[dict, ...]
    kind: str | None = None     # the engine kind it acts on; None: every engine sees it
    gaps: tuple[float, ...] = ()  # seconds between its steps (`after`)


def _engine(kind: str) -> str:
    return f"{kind}-1"


def _kill(rng, kind):
    return Move("kill", ({"action": "kill", "engine": _engine(kind)},), kind)


def _recycle(rng, kind):
    return Move("recycle", ({"action": "recycle", "engine": _engine(kind)},), kind)


def _scale_zero(rng, kind):
    return Move("scale_to_zero", ({"action": "scale", "kind": kind, "replicas": 0},
                                  {"action": "scale", "kind": kind, "replicas": 1}), kind,
                (round(rng.uniform(0.2, 2.0), 1),))


def _fn_error(status_choices, name):
    def move(rng, kind):
        fault = {"action": "fault", "target": "function", "kind": "error",
                 "status": rng.choice(status_choices), "rate": rng.choice((0.3, 0.6, 1.0))}
        if rng.random() < 0.5:
            fault["paths"] = ["/persist"]
        if rng.random() < 0.3:
            fault["count"] = rng.randint(1, 6)
        if fault["status"] == 429:
            fault["retry_after"] = rng.choice((1, 2))
        return Move(name, (fault,))
    return move


def _fn_latency(rng, kind):
    return Move("function_latency", ({"action": "fault", "target": "function", "kind": "latency",
                                      "ms": rng.choice((100, 300, 600)),
                                      "jitter_ms": rng.choice((0, 100))},))


def _fn_outage(rng, kind):
    return Move("function_outage", ({"action": "fault", "target": "function", "kind": "outage"},))


def _store_outage(rng, kind):
    return Move("store_outage", ({"action": "fault", "target": "store", "kind": "outage"},))


def _clock_skew(rng, kind):
    return Move("clock_skew", ({"action": "fault", "target": "engine", "engine": _engine(kind),
                                "clock_skew_s": rng.choice((-400, 400, 900))},), kind)


def _discovery_loss(rng, kind):
    return Move("discovery_loss", ({"action": "fault", "target": "discovery",
                                    "loss": rng.choice((0.3, 0.6, 0.9))},))


def _discovery_partition(rng, kind):
    return Move("discovery_partition", ({"action": "fault", "target": "engine", "engine": _engine(kind),
                                         "discovery_partitioned": True},), kind)


MENU = (
    (_kill, 3), (_recycle, 2), (_scale_zero, 2),
    (_fn_error((500, 502, 503), "function_5xx"), 2), (_fn_error((429,), "function_429"), 1),
    (_fn_error((401,), "function_401"), 1), (_fn_latency, 1), (_fn_outage, 2), (_store_outage, 2),
    (_clock_skew, 1), (_discovery_loss, 1), (_discovery_partition, 1),
)
FAULT_NAMES = ("kill", "recycle", "scale_to_zero", "function_5xx", "function_429", "function_401",
               "function_latency", "function_outage", "store_outage", "clock_skew", "discovery_loss",
               "discovery_partition")

STOPS = ("recycle", "scale_to_zero")
PUSH_FAULTS = ("function_5xx", "function_429", "function_401", "function_outage", "store_outage",
               "clock_skew")


@dataclass(frozen=True)
class Schedule:
    seed: int
    moves: tuple[Move, ...]
    times: tuple[float, ...]        # when each move begins
    window_s: float
    killed: tuple[str, ...]         # engines killed (their kinds are recycled in the tail)
    checked: tuple[str, ...]        # kinds recycled in the tail
    toml: str = field(repr=False, default="")

    @property
    def may_lose(self) -> bool:
        """Could writes be lost by the declared rules: a kill (SIGKILL), or a stop
        (recycle, scale to zero) after a fault that may refuse its final flush."""
        stops = [i for i, m in enumerate(self.moves) if m.name in STOPS]
        faults = [i for i, m in enumerate(self.moves) if m.name in PUSH_FAULTS]
        return bool(self.killed) or any(f < s for f in faults for s in stops)


def draw(seed: int) -> Schedule:
    """The schedule of a seed (deterministic)."""
    rng = random.Random(seed)
    funcs, weights = zip(*MENU)
    moves, times, t = [], [], 0.0
    window = round(rng.uniform(*WINDOW_S), 1)
    count = rng.randint(*MOVES_PER_SCHEDULE)
    starts = sorted(round(rng.uniform(0.5, window - 0.5), 1) for _ in range(count))
    for start in starts:
        move = rng.choices(funcs, weights)[0](rng, rng.choice(KINDS))
        if rng.random() < 0.3 and move.kind is None:  # a fault that ends before the tail
            move = Move(move.name, move.steps + ({"action": "clear_faults"},), None,
                        move.gaps + (round(rng.uniform(1.0, 4.0), 1),))
        t = max(start, t)
        moves.append(move)
        times.append(t)
        t += sum(move.gaps) + 0.1
    window = max(window, t)
    killed = tuple(sorted({_engine(m.kind) for m in moves if m.name == "kill"}))
    checked = verify_kinds(rng, moves)
    schedule = Schedule(seed, tuple(moves), tuple(times), window, killed, checked)
    return Schedule(**{**schedule.__dict__, "toml": to_toml(schedule)})


def verify_kinds(rng: random.Random, moves) -> tuple[str, ...]:
    """The kinds the tail recycles: every kind a move acted on, plus, when a fault
    reached every engine (function, store, discovery), a few more drawn at random.

    Not all eight after every fleet-wide fault: a recycle costs seconds, and a
    witness is cumulative (every boot checks every write the slot's engines ever
    acknowledged), so a loss an unchecked engine suffered is still found at its
    next boot, in a later schedule or in the campaign's final audit, which
    recycles every kind."""
    kinds = {m.kind for m in moves if m.kind}
    if any(m.kind is None for m in moves):
        kinds |= set(rng.sample(KINDS, FLEETWIDE_CHECKED_KINDS))
    return tuple(k for k in KINDS if k in kinds)


def audit(seed: int) -> Schedule:
    """The campaign's last schedule: no fault, every kind recycled."""
    schedule = Schedule(seed, (), (), 1.0, (), KINDS)
    return Schedule(**{**schedule.__dict__, "toml": to_toml(schedule, name="chaos-audit")})


def _timed(steps: list[dict], at: float | None, gaps=()) -> list[dict]:
    out = []
    for i, step in enumerate(steps):
        timing = {"at": f"{at:g}s"} if i == 0 and at is not None else (
            {"after": f"{gaps[i - 1]:g}s"} if 0 < i <= len(gaps) else {})
        out.append({**timing, **step})
    return out


def to_toml(s: Schedule, name: str = "chaos") -> str:
    steps: list[dict] = []
    for move, at in zip(s.moves, s.times):
        steps += _timed(list(move.steps), at, move.gaps)
    tail = [{"action": "clear_faults"}]
    tail += [{"action": "recycle", "kind": k} for k in s.checked]
    steps += _timed(tail, s.window_s)
    expects = [{"check": "no_acknowledged_write_lost"}]
    if not s.may_lose:
        expects.append({"check": "writes_lost", "max": 0})
    head = {"scenario": {"name": f"{name}-{s.seed}", "seed": s.seed % 2**63,
                         "description": f"chaos schedule {s.seed}: "
                         + (", ".join(m.name for m in s.moves) or "audit") + "; then every checked kind recycled",
                         "duration": f"{s.window_s + 1:g}s"}}
    text = toml_out.dumps({**head, **fleet_tables()})
    text += "".join("\n[[step]]\n" + toml_out.dumps(st) for st in steps)
    text += "".join("\n[[expect]]\n" + toml_out.dumps(x) for x in expects)
    return text


def scenario(schedule: Schedule) -> Scenario:
    """The schedule through the scenario loader: the checks a file gets, and its error."""
    return parse_scenario(schedule.toml, f"chaos schedule {schedule.seed}")


def describe(schedule: Schedule) -> list[str]:
    lines = [f"  t={at:5.1f}s  {m.name}: " + "; ".join(_brief(st) for st in m.steps)
             for m, at in zip(schedule.moves, schedule.times)]
    lines.append(f"  t={schedule.window_s:5.1f}s  tail: clear faults"
                 + f", recycle {', '.join(schedule.checked)}")
    return lines


def _brief(step: dict) -> str:
    return " ".join(f"{k}={v}" for k, v in step.items())
