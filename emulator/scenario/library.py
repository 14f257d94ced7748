"""The shipped scenarios (the repository's `scenarios/`) and finding a scenario by name."""
from __future__ import annotations

from pathlib import Path

SHIPPED = Path(__file__).resolve().parents[2] / "scenarios"


def scenario_dirs() -> list[Path]:
    """./scenarios first (the user's own), then the shipped ones."""
    dirs = [Path.cwd() / "scenarios", SHIPPED]
    out = []
    for d in dirs:
        if d.is_dir() and d.resolve() not in [o.resolve() for o in out]:
            out.append(d)
    return out


def shipped() -> list[Path]:
    return sorted(SHIPPED.glob("*.toml")) if SHIPPED.is_dir() else []


def resolve(name_or_path: str) -> Path:
    """A file path as given, else `NAME` or `NAME.toml` in the scenario directories."""
    path = Path(name_or_path)
    if path.exists() or path.suffix == ".toml" and "/" in name_or_path:
        return path
    for d in scenario_dirs():
        for candidate in (d / name_or_path, d / f"{name_or_path}.toml"):
            if candidate.is_file():
                return candidate
    return path
