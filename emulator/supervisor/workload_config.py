"""`[workload.KIND]`: the write workload each engine of a kind generates.

Shared by wkp-emu.toml and scenario files. Pure: a table in, the engine's
WEFTKIT_ENGINE_WORKLOAD_* variables out (the engine's generator does the
writing, through its own write path, so the ledger, the witness and persistence
see every write). Keys:

    rate         writes per second (0: none), or "auto" for the kind's typical rate
    value_bytes  size of each value (default: the kind's typical value)
    keys         key space (default: the kind's)
    deletes      share of operations that delete an existing key, 0 to 1
    burst_writes extra writes at once, every `burst_every` (a duration: "30s")
    seed         seeds the sequence of keys and values (a scenario's seed by default)
"""
from __future__ import annotations

from dataclasses import dataclass

from emulator.durations import parse_duration


class WorkloadError(ValueError):
    def __init__(self, key: str, message: str):
        super().__init__(message)
        self.key = key


@dataclass(frozen=True)
class WorkloadSpec:
    rate: float | str = 0.0           # writes/s, or "auto"
    value_bytes: int = 0
    keys: int = 0
    deletes: float = 0.0
    burst_writes: int = 0
    burst_every_s: float = 0.0
    seed: int | None = None

    @property
    def steady_rate(self) -> float | None:
        """Writes per second, None for "auto" (the kind's rate, known to the engine)."""
        return None if self.rate == "auto" else float(self.rate)

    def env(self) -> dict[str, str]:
        out = {"WEFTKIT_ENGINE_WORKLOAD_RATE": str(self.rate)}
        for name, value in (("VALUE_BYTES", self.value_bytes), ("KEYS", self.keys),
                            ("DELETES", self.deletes), ("BURST_WRITES", self.burst_writes),
                            ("BURST_EVERY", self.burst_every_s), ("SEED", self.seed)):
            if value:
                out[f"WEFTKIT_ENGINE_WORKLOAD_{name}"] = f"{value:g}" if isinstance(value, float) else str(value)
        return out


def _whole(key, value, lo, hi) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise WorkloadError(key, f"must be a whole number from {lo} to {hi}, got {value!r}")
    return value


def _rate(key, value) -> float | str:
    if value == "auto":
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 100000:
        raise WorkloadError(key, f"must be writes per second from 0 to 100000, or \"auto\", got {value!r}")
    return float(value)


def parse_workload(prefix: str, table) -> WorkloadSpec:
    """One `[workload.KIND]` table; errors name `prefix.key`."""
    if not isinstance(table, dict):
        raise WorkloadError(prefix, "must be a table (rate, value_bytes, keys, deletes, "
                            "burst_writes, burst_every, seed)")
    fields: dict = {}
    for key, value in table.items():
        name = f"{prefix}.{key}"
        if key == "rate":
            fields["rate"] = _rate(name, value)
        elif key == "value_bytes":
            fields["value_bytes"] = _whole(name, value, 1, 64 * 1024 * 1024)
        elif key == "keys":
            fields["keys"] = _whole(name, value, 1, 10**9)
        elif key == "deletes":
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
                raise WorkloadError(name, f"must be a share from 0 to 1, got {value!r}")
            fields["deletes"] = float(value)
        elif key == "burst_writes":
            fields["burst_writes"] = _whole(name, value, 0, 10**6)
        elif key == "burst_every":
            try:
                fields["burst_every_s"] = parse_duration(value)
            except ValueError as exc:
                raise WorkloadError(name, str(exc)) from None
        elif key == "seed":
            fields["seed"] = _whole(name, value, 0, 2**63)
        else:
            raise WorkloadError(name, "unknown key (rate, value_bytes, keys, deletes, "
                                "burst_writes, burst_every, seed)")
    spec = WorkloadSpec(**fields)
    if spec.burst_writes and not spec.burst_every_s:
        raise WorkloadError(f"{prefix}.burst_every", "required when burst_writes is set")
    return spec
