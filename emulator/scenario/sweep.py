"""Sweeps, the pure parts: parameters, their combinations, overrides of a scenario, statistics.

`wkp-emu scenario sweep FILE --param KEY=V1,V2 ... --replications N` runs the
simulated scenario once per combination of values and replication
(sweep_run.py carries that out, on local processes or a Dask cluster); this
module decides what runs and what the results say, with no I/O:

- `parse_param("defaults.env.WEFTKIT_PERSIST_SCHEDULE=*/5 * * * *,*/15 * * * *")`:
  KEY is a dotted path into the scenario's TOML (an array of tables is indexed
  from 1, as people count: `step.2.at`); each value is read as a TOML value
  (`3`, `0.5`, `true`, `"a,b"`), else taken as a string; commas inside quotes
  or brackets do not split;
- `combinations(params)`: every combination, in the order the values were given;
- `apply_overrides(data, overrides)`: the TOML data with the values set;
- `replication_seed(seed, r)`: replication r of every combination runs with the
  same seed, the scenario's seed plus r, used as the scenario's seed (workload,
  faults) and the model's (common random numbers: differences between
  combinations are the parameters', not the dice's);
- `mean_ci(values, confidence)`: mean and a Student-t confidence interval, the
  t quantile computed here (regularized incomplete beta, inverted by bisection),
  so no statistics package is needed;
- `metrics_of(report)`: the numbers a sweep compares, from a run's report.
"""
from __future__ import annotations

import copy
import itertools
import math
import tomllib
from dataclasses import dataclass
from typing import Iterable, Sequence

SCENARIO_TABLES = ("scenario", "fleet", "platform", "defaults", "workload", "function", "discovery", "sim",
                   "step", "expect")


class SweepError(ValueError):
    """A bad --param, value or sweep option; the message names it."""


@dataclass(frozen=True)
class Param:
    key: str                           # as written: "fleet.vector.replicas"
    path: tuple[str | int, ...]        # parsed: ("fleet", "vector", "replicas"); array indices 0-based
    values: tuple


# ---- parameters ----------------------------------------------------------------------
def parse_param(text: str) -> Param:
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise SweepError(f"--param {text!r}: write KEY=V1,V2,... (e.g. fleet.vector.replicas=1,2,4)")
    path = parse_key(key)
    raw_values = split_values(raw)
    if not raw_values or any(v == "" for v in raw_values):
        raise SweepError(f"--param {key}: needs one value or more, separated by commas (got {raw!r})")
    values = tuple(parse_value(v) for v in raw_values)
    if len(set(map(repr, values))) != len(values):
        raise SweepError(f"--param {key}: a value is given twice ({raw})")
    return Param(key, path, values)


def parse_key(key: str) -> tuple[str | int, ...]:
    parts = key.split(".")
    if any(not p for p in parts):
        raise SweepError(f"--param {key}: an empty part in the dotted key")
    if parts[0] not in SCENARIO_TABLES:
        raise SweepError(f"--param {key}: {parts[0]!r} is not a scenario table; a scenario has "
                         f"{', '.join(SCENARIO_TABLES)}")
    if len(parts) < 2:
        raise SweepError(f"--param {key}: name a value inside [{parts[0]}], e.g. {parts[0]}.KEY")
    out: list[str | int] = []
    for i, part in enumerate(parts):
        if part.isdigit() and i > 0:
            if int(part) < 1:
                raise SweepError(f"--param {key}: arrays of tables are counted from 1 ({part})")
            out.append(int(part) - 1)
        else:
            out.append(part)
    return tuple(out)


def split_values(raw: str) -> list[str]:
    """Split on commas outside quotes and brackets: `"a,b",[1,2],3` -> three values."""
    out, current, depth, quote = [], [], 0, None
    for ch in raw:
        if quote:
            current.append(ch)
            if ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
            current.append(ch)
        elif ch in "[{":
            depth += 1
            current.append(ch)
        elif ch in "]}":
            depth -= 1
            current.append(ch)
        elif ch == "," and depth == 0:
            out.append("".join(current).strip())
            current = []
        else:
            current.append(ch)
    out.append("".join(current).strip())
    if quote or depth:
        raise SweepError(f"unbalanced quote or bracket in {raw!r}")
    return out


def parse_value(raw: str):
    """A TOML value (3, 0.5, true, "text", [1, 2], 30s is not one: it stays the string "30s")."""
    try:
        return tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        return raw


def combinations(params: Sequence[Param]) -> list[tuple[tuple[str, object], ...]]:
    """Every combination of values, the first parameter varying slowest."""
    keys = [p.key for p in params]
    if len(set(keys)) != len(keys):
        raise SweepError(f"--param {next(k for k in keys if keys.count(k) > 1)}: given twice; "
                         "list every value in one --param")
    return [tuple(zip(keys, values)) for values in itertools.product(*(p.values for p in params))]


def apply_overrides(data: dict, overrides: Iterable[tuple[str, object]]) -> dict:
    """A deep copy of the scenario's TOML data with each KEY set to its value."""
    out = copy.deepcopy(data)
    for key, value in overrides:
        path = parse_key(key)
        node = out
        for depth, part in enumerate(path[:-1]):
            nxt = path[depth + 1]
            node = _child(node, part, key, want_list=isinstance(nxt, int))
        _set(node, path[-1], value, key)
    return out


def _child(node, part, key, *, want_list: bool):
    where = f"--param {key}"
    if isinstance(part, int):
        if not isinstance(node, list):
            raise SweepError(f"{where}: {part + 1} indexes an array of tables, but there is none here")
        if part >= len(node):
            raise SweepError(f"{where}: the file has {len(node)} such table(s), not {part + 1}")
        return node[part]
    if not isinstance(node, dict):
        raise SweepError(f"{where}: {part!r} is inside a value, not a table")
    if part not in node:
        if want_list:
            raise SweepError(f"{where}: the file has no [[{part}]] tables to index")
        node[part] = {}
    child = node[part]
    if want_list and not isinstance(child, list):
        raise SweepError(f"{where}: {part!r} is not an array of tables; drop the index")
    if not want_list and not isinstance(child, dict):
        raise SweepError(f"{where}: {part!r} is a value, not a table")
    return child


def _set(node, part, value, key):
    if isinstance(part, int) or not isinstance(node, dict):
        raise SweepError(f"--param {key}: must end with a key inside a table, not an array index")
    if isinstance(node.get(part), (dict, list)):
        raise SweepError(f"--param {key}: names a whole table; name one of its keys")
    node[part] = value


def replication_seed(seed: int, replication: int) -> int:
    """Replication r (0-based) of every combination: the scenario's seed plus r."""
    return seed + replication


def label(overrides: Iterable[tuple[str, object]]) -> str:
    """`replicas=2, rate=5`: each key by its last part, or by as many parts as tell it from the others."""
    pairs = list(overrides)
    keys = [k.split(".") for k, _ in pairs]

    def short(parts: list[str]) -> str:
        for n in range(1, len(parts) + 1):
            tail = parts[-n:]
            if sum(1 for other in keys if other[-n:] == tail) == 1:
                return ".".join(tail)
        return ".".join(parts)
    return ", ".join(f"{short(parts)}={value}" for parts, (_, value) in zip(keys, pairs)) or "(as written)"


# ---- statistics -----------------------------------------------------------------------
def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction of the incomplete beta function (modified Lentz)."""
    tiny, qab, qap, qam = 1e-300, a + b, a + 1, a - 1
    c, d = 1.0, 1 - qab * x / qap
    d = 1 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 300):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1 + aa * d
        d = 1 / (d if abs(d) > tiny else tiny)
        c = 1 + aa / c if abs(1 + aa / c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1 + aa * d
        d = 1 / (d if abs(d) > tiny else tiny)
        c = 1 + aa / c if abs(1 + aa / c) > tiny else tiny
        delta = d * c
        h *= delta
        if abs(delta - 1) < 1e-15:
            break
    return h


def incomplete_beta(a: float, b: float, x: float) -> float:
    """Regularized I_x(a, b)."""
    if x <= 0:
        return 0.0
    if x >= 1:
        return 1.0
    front = math.exp(math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x)
                     + b * math.log1p(-x))
    if x < (a + 1) / (a + b + 2):
        return front * _betacf(a, b, x) / a
    return 1 - front * _betacf(b, a, 1 - x) / b


def t_two_sided_p(t: float, df: float) -> float:
    """P(|T| > t) for Student's t with df degrees of freedom."""
    return incomplete_beta(df / 2, 0.5, df / (df + t * t))


def t_quantile(confidence: float, df: int) -> float:
    """t such that P(|T| <= t) = confidence (e.g. 0.95, 4 -> 2.776)."""
    if not 0 < confidence < 1:
        raise SweepError(f"--confidence must be between 0 and 1, got {confidence}")
    if df < 1:
        raise ValueError("a t quantile needs one degree of freedom or more")
    alpha, lo, hi = 1 - confidence, 0.0, 1.0
    while t_two_sided_p(hi, df) > alpha:
        hi *= 2
    for _ in range(200):
        mid = (lo + hi) / 2
        if t_two_sided_p(mid, df) > alpha:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


@dataclass(frozen=True)
class Interval:
    mean: float | None
    half_width: float | None     # None: fewer than two values, no interval
    n: int
    confidence: float

    @property
    def low(self) -> float | None:
        return None if self.half_width is None else self.mean - self.half_width

    @property
    def high(self) -> float | None:
        return None if self.half_width is None else self.mean + self.half_width

    def to_json(self) -> dict:
        r = (lambda v: None if v is None else round(v, 9))
        return {"mean": r(self.mean), "half_width": r(self.half_width), "low": r(self.low),
                "high": r(self.high), "n": self.n, "confidence": self.confidence}

    def text(self, unit: str = "") -> str:
        if self.mean is None:
            return "-"
        if self.half_width is None:
            return f"{self.mean:.4g}{unit} (n={self.n})"
        return f"{self.mean:.4g}{unit} ± {self.half_width:.3g} (n={self.n})"


def mean_ci(values: Iterable[float | None], confidence: float = 0.95) -> Interval:
    """Mean and Student-t interval of the values that are not None."""
    xs = [float(v) for v in values if v is not None]
    n = len(xs)
    if n == 0:
        return Interval(None, None, 0, confidence)
    mean = math.fsum(xs) / n
    if n == 1:
        return Interval(mean, None, 1, confidence)
    var = math.fsum((x - mean) ** 2 for x in xs) / (n - 1)
    return Interval(mean, t_quantile(confidence, n - 1) * math.sqrt(var / n), n, confidence)


# ---- metrics of a run ------------------------------------------------------------------
METRICS = ("passed", "pushes", "push_attempts", "restores", "bytes_pushed", "writes_lost", "risk_p99_s",
           "risk_max_s", "recovery_max_s", "status_409", "status_429", "status_5xx", "cost_month")
UNITS = {"risk_p99_s": "s", "risk_max_s": "s", "recovery_max_s": "s", "bytes_pushed": " B"}


def metrics_of(report: dict) -> dict[str, float | None]:
    """The numbers a sweep compares, from one run's report (cost only if the report has one)."""
    counts = report["function"]["counts"]
    recoveries = [r["seconds"] for r in report.get("recoveries", ()) if r.get("seconds") is not None]
    cost = report.get("cost")
    return {"passed": 1.0 if report["passed"] else 0.0,
            "pushes": counts["pushes"], "push_attempts": counts["push_attempts"],
            "restores": counts["restores"],
            "bytes_pushed": sum(e.get("bytes_pushed", 0) for e in report.get("engines", {}).values()),
            "writes_lost": report["losses"]["lost"],
            "risk_p99_s": report["data_at_risk"].get("p99_s"),
            "risk_max_s": report["data_at_risk"].get("max_s"),
            "recovery_max_s": max(recoveries) if recoveries else None,
            "status_409": counts["status_409"], "status_429": counts["status_429"],
            "status_5xx": counts["status_5xx"],
            "cost_month": cost["total_month"] if cost else None}


def summarize(results: Sequence[dict], confidence: float) -> dict[str, Interval]:
    """Per metric, the interval over the replications' values (`results`: metrics dicts)."""
    return {m: mean_ci((r.get(m) for r in results), confidence) for m in METRICS}
