"""Writing the wkp-emu.toml a scenario's stack starts from (tomllib only reads).

Enough TOML for the config's shapes: nested tables of strings, numbers,
booleans and lists of those. Keys are quoted when they are not bare.
"""
from __future__ import annotations

import json
import re

_BARE = re.compile(r"^[A-Za-z0-9_-]+$")


def _key(key: str) -> str:
    return key if _BARE.match(key) else json.dumps(key)


def _value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # JSON string escapes are valid TOML basic strings
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {value!r} as TOML")


def dumps(data: dict) -> str:
    lines: list[str] = []
    _table(lines, [], data)
    return "\n".join(lines).lstrip("\n") + "\n"


def _table(lines: list[str], path: list[str], table: dict) -> None:
    scalars = {k: v for k, v in table.items() if not isinstance(v, dict)}
    if path and (scalars or not table):
        lines.append("")
        lines.append("[" + ".".join(_key(p) for p in path) + "]")
    lines += [f"{_key(k)} = {_value(v)}" for k, v in scalars.items()]
    for key, sub in table.items():
        if isinstance(sub, dict):
            _table(lines, path + [key], sub)
