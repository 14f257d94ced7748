"""A scenario as frozen values: what happens (steps) and what must hold (expectations)."""
from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Mapping

from emulator.supervisor.config import EmulatorConfig


@dataclass(frozen=True)
class Step:
    """One action at a time: `at_s` from the start, or `after_s` after the previous step."""
    index: int                      # 1-based, as people count [[step]] tables
    action: str
    params: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    at_s: float | None = None
    after_s: float | None = None

    def describe(self) -> str:
        params = self.params.get("fault", self.params)
        args = " ".join(f"{k}={v}" for k, v in params.items())
        return f"{self.action} {args}".strip()


@dataclass(frozen=True)
class Expectation:
    index: int                      # 1-based position among [[expect]] tables
    check: str
    params: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def scope(self) -> tuple[str, str] | None:
        """("engine", name) or ("kind", kind) the expectation is limited to, if any."""
        for key in ("engine", "kind"):
            if key in self.params:
                return key, self.params[key]
        return None

    def describe(self) -> str:
        args = ", ".join(f"{k}={v}" for k, v in self.params.items())
        return f"{self.check}({args})"


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    seed: int
    duration_s: float
    config: EmulatorConfig          # fleet, platform, defaults, workload, function, discovery
    steps: tuple[Step, ...] = ()
    expectations: tuple[Expectation, ...] = ()
    source: str = ""                # the file it came from
    emulator_tables: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    sim: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))  # [sim], checked
    # Why only the simulator can run it: (line, key, reason) for each sim-only part of the file
    sim_only: tuple[tuple[int | None, str, str], ...] = ()
