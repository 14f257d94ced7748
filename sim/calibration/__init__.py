"""The calibration profile: the numbers the model takes from the live stack, with their date.

`bench/calibrate.py` measures them on the live stack (the function on its
embedded store, real engine processes, the engines' own codec) and writes
`default.toml` beside this file, with the date and a summary of the machine.
The model reads a `Calibration` (`load_calibration()` for the shipped one,
`load_calibration(FILE)` for another); docs/sim.md, "Calibration", says what
each number is and how it was measured.

Engine starts (`[engine_start]`, `EngineStarts`) are measured beside a
working fleet, by how many engines start at once; a profile written before
that table existed still loads, its one empty boot standing for every start
(sim/engine_start.py turns either into the model's start delays).

Latencies are lines, `base_s + per_mib_s x MiB` (the base matches the
smallest payload measured, the slope is a least-squares fit over the larger
ones), because a request's time is a fixed cost (HTTP,
signing, a listing, the store's round trips) plus a per-byte cost (hashing,
copying, the store's write or read).
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Mapping

DEFAULT_FILE = Path(__file__).resolve().parent / "default.toml"
MiB = float(1 << 20)


@dataclass(frozen=True)
class Line:
    """seconds(size) = base_s + per_mib_s * size / MiB."""
    base_s: float
    per_mib_s: float

    def seconds(self, size_bytes: float) -> float:
        return self.base_s + self.per_mib_s * size_bytes / MiB


@dataclass(frozen=True)
class KindCodec:
    """What a push of this kind costs the engine and how much it shrinks (zstd, the default)."""
    compress_cpu_s_per_mib: float   # CPU to frame and compress one MiB of raw records
    ratio: float                    # raw bytes / compressed bytes


@dataclass(frozen=True)
class EngineStarts:
    """`[engine_start]`: engine.starting to engine.started of pods of a working fleet, by engines started at once.

    Per concurrency k: the last of k started at once (median over batches, 10th and 90th
    percentiles), as `wkp-emu up`'s supervisor records it; and a recycled engine's stop,
    engine.stopping to a clean engine.stopped, its final push included."""
    concurrent: tuple[int, ...]
    median_s: tuple[float, ...]
    p10_s: tuple[float, ...]
    p90_s: tuple[float, ...]
    samples: tuple[int, ...]
    stop_median_s: float | None = None
    fleet: str = ""                      # what was running beside the starts
    load_average: tuple[float, ...] = ()  # the machine's 1-minute load average, start and end

    def rows(self) -> list[list[float]]:
        return [[k, m, lo, hi] for k, m, lo, hi in zip(self.concurrent, self.median_s, self.p10_s, self.p90_s)]


@dataclass(frozen=True)
class Calibration:
    measured_on: str                            # date of the measurement (UTC)
    machine: str                                # CPU, cores, OS and Python of the machine
    persist: Line                               # POST /persist: request sent to answer received
    restore: Line                               # GET /restore: request sent to last byte received
    engine_boot_s: float                        # engine process start to serving, nothing stored (204)
    engine_boot_restore: Line                   # ... when it restores a chain of that size
    engine_stop_s: float = 0.0                  # SIGTERM to exit with nothing to flush
    kinds: Mapping[str, KindCodec] = field(default_factory=lambda: MappingProxyType({}))
    source: str = ""
    engine_start: EngineStarts | None = None    # beside a working fleet (absent in older profiles)

    def codec(self, kind: str) -> KindCodec:
        return self.kinds.get(kind) or KindCodec(0.0, 1.0)

    def model_parameters(self, store_call_s: float = 0.002) -> dict[str, float]:
        """The measured lines as the model's service-time parameters (sim.model.function.ServiceTimes).

        A measured latency is the function's own work plus one store call plus the
        bytes through the store; the store call's share is not separable from the
        outside, so it is given (2 ms, a moto round trip on loopback) and the rest
        is the function's. The per-MiB cost of a persist is the store path's.

        Engine starts: with `[engine_start]`, `engine_start_by_concurrency` holds its rows
        ([k, median, p10, p90], starting to started) and `engine_start_less_s` the restore round
        trip the model plays itself (sim.engine_start.StartTimes); `engine_start_s` is then the
        lone start less that round trip, and `engine_stop_s` the measured stop less its final
        push's round trip (the model plays the push). Without it, the idle boot and SIGTERM stop.
        """
        start = self.engine_start
        working = {} if start is None else {
            "engine_start_s": max(0.0, start.median_s[0] - self.restore.base_s),
            "engine_start_by_concurrency": start.rows(),
            "engine_start_less_s": self.restore.base_s}
        if start is not None and start.stop_median_s is not None:
            working["engine_stop_s"] = max(0.0, start.stop_median_s - self.persist.base_s)
        return {"persist_s": max(0.0, self.persist.base_s - store_call_s),
                "restore_s": max(0.0, self.restore.base_s - store_call_s),
                "store_call_s": store_call_s,
                "store_bandwidth_bps": MiB / self.persist.per_mib_s if self.persist.per_mib_s else 1e12,
                "restore_bandwidth_bps": MiB / self.restore.per_mib_s if self.restore.per_mib_s else 1e12,
                # the runner's pod start delay: process start to its first request (the boot
                # measured with nothing stored, less that boot's one restore round trip)
                "engine_start_s": max(0.0, self.engine_boot_s - self.restore.base_s),
                "engine_boot_s": self.engine_boot_s,
                "engine_stop_s": self.engine_stop_s,
                "engine_boot_restore_base_s": self.engine_boot_restore.base_s,
                "engine_boot_restore_per_mib_s": self.engine_boot_restore.per_mib_s,
                **working}


class CalibrationError(ValueError):
    pass


def load_calibration(path: str | Path | None = None) -> Calibration:
    p = Path(path) if path is not None else DEFAULT_FILE
    try:
        text = p.read_text()
    except OSError as exc:
        raise CalibrationError(f"{p}: cannot read: {exc.strerror}") from None
    return parse_calibration(text, str(p))


def parse_calibration(text: str, source: str = "calibration.toml") -> Calibration:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CalibrationError(f"{source}: not valid TOML: {exc}") from None

    def number(table: dict, key: str, where: str) -> float:
        value = table.get(key)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise CalibrationError(f"{source}: {where}.{key}: must be a number >= 0, got {value!r}")
        return float(value)

    def table(name: str) -> dict:
        value = data.get(name)
        if not isinstance(value, dict):
            raise CalibrationError(f"{source}: missing table [{name}]")
        return value

    def line(name: str) -> Line:
        t = table(name)
        return Line(number(t, "base_s", name), number(t, "per_mib_s", name))

    head = table("calibration")
    for key in ("measured_on", "machine"):
        if not isinstance(head.get(key), str):
            raise CalibrationError(f"{source}: calibration.{key}: must be a string")
    boot = table("engine_boot")
    kinds = {}
    for kind, t in data.get("kinds", {}).items():
        if not isinstance(t, dict):
            raise CalibrationError(f"{source}: kinds.{kind}: must be a table")
        ratio = number(t, "ratio", f"kinds.{kind}")
        if ratio <= 0:
            raise CalibrationError(f"{source}: kinds.{kind}.ratio: must be more than 0")
        kinds[kind] = KindCodec(number(t, "compress_cpu_s_per_mib", f"kinds.{kind}"), ratio)
    return Calibration(head["measured_on"], head["machine"], line("persist"), line("restore"),
                       number(boot, "empty_s", "engine_boot"),
                       Line(number(boot, "restore_base_s", "engine_boot"),
                            number(boot, "restore_per_mib_s", "engine_boot")),
                       number(data.get("engine_stop", {"sigterm_to_exit_s": 0.0}), "sigterm_to_exit_s",
                              "engine_stop"),
                       MappingProxyType(kinds), source, engine_starts(data.get("engine_start"), source))


def engine_starts(t, source: str) -> EngineStarts | None:
    """`[engine_start]`, checked: equal-length arrays, concurrencies increasing from 1, p10 <= median <= p90."""
    if t is None:
        return None
    if not isinstance(t, dict):
        raise CalibrationError(f"{source}: engine_start: must be a table")

    def array(key: str, whole: bool = False) -> tuple:
        value = t.get(key)
        ok = isinstance(value, list) and value and all(
            not isinstance(v, bool) and isinstance(v, int if whole else (int, float)) and v >= 0 for v in value)
        if not ok:
            what = "whole numbers" if whole else "numbers"
            raise CalibrationError(f"{source}: engine_start.{key}: must be a non-empty array of {what} >= 0, "
                                   f"got {value!r}")
        return tuple(value) if whole else tuple(float(v) for v in value)

    ks = array("concurrent", whole=True)
    median, lo, hi, n = array("median_s"), array("p10_s"), array("p90_s"), array("samples", whole=True)
    if not len(ks) == len(median) == len(lo) == len(hi) == len(n):
        raise CalibrationError(f"{source}: engine_start: concurrent, median_s, p10_s, p90_s and samples "
                               f"must have one entry each per concurrency")
    if ks[0] != 1 or list(ks) != sorted(set(ks)):
        raise CalibrationError(f"{source}: engine_start.concurrent: must start at 1 and increase, got {list(ks)}")
    for k, m, a, b in zip(ks, median, lo, hi):
        if not a <= m <= b:
            raise CalibrationError(f"{source}: engine_start: at {k} at once, p10_s <= median_s <= p90_s "
                                   f"does not hold ({a}, {m}, {b})")
    stop = t.get("stop_median_s")
    if stop is not None and (isinstance(stop, bool) or not isinstance(stop, (int, float)) or stop < 0):
        raise CalibrationError(f"{source}: engine_start.stop_median_s: must be a number >= 0, got {stop!r}")
    load = t.get("load_average", [])
    if not isinstance(load, list) or not all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                             for v in load):
        raise CalibrationError(f"{source}: engine_start.load_average: must be an array of numbers")
    fleet = t.get("fleet", "")
    if not isinstance(fleet, str):
        raise CalibrationError(f"{source}: engine_start.fleet: must be a string")
    return EngineStarts(ks, median, lo, hi, n, None if stop is None else float(stop), fleet,
                        tuple(float(v) for v in load))
