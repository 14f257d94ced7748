"""Durations as people write them in TOML: "500ms", "30s", "2m", "1.5h", "30d", or seconds.

Pure. `parse_duration` raises ValueError with a message meant to follow the
key's name ("must be a duration like 30s, 2m or 1h, got 'soon'").
"""
from __future__ import annotations

import re

UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$")


def parse_duration(value) -> float:
    """Seconds from "30s"-style text or a plain number of seconds (>= 0)."""
    if isinstance(value, bool):
        raise ValueError(f"must be a duration like 30s, 2m or 1h, got {value!r}")
    if isinstance(value, (int, float)):
        if value < 0:
            raise ValueError(f"must not be negative, got {value!r}")
        return float(value)
    if isinstance(value, str):
        match = _PATTERN.match(value)
        if match:
            return float(match.group(1)) * UNITS[match.group(2)]
    raise ValueError(f"must be a duration like 30s, 2m or 1h, got {value!r}")


def format_duration(seconds: float) -> str:
    """The shortest exact spelling: 0.25 -> "250ms", 90 -> "90s", 3600 -> "1h"."""
    if seconds and seconds < 1:
        return f"{seconds * 1000:g}ms"
    for unit in ("d", "h", "m"):
        if seconds >= UNITS[unit] and seconds % UNITS[unit] == 0:
            return f"{seconds / UNITS[unit]:g}{unit}"
    return f"{seconds:g}s"
