"""A small YAML writer for compose files: block style, stable, quoted only where needed.

Why not PyYAML's dump: it is not one of the project's declared dependencies,
and a compose file is read by people, so the output is fixed here: keys in
the order given, lists of scalars inline (`command: [engine, --kind, ...]`)
when they fit on the line, and a string quoted exactly when a YAML 1.1 reader
(docker-compose 1.29 uses PyYAML) or a YAML 1.2 reader (compose v2) could take
it for something else: a number, a boolean such as `on`, null, or text with
YAML syntax in it. Quoted strings use JSON's double-quoted form, which is
valid YAML.
"""
from __future__ import annotations

import json
import re
from typing import Any

_PLAIN = re.compile(r"[A-Za-z_/][A-Za-z0-9_./:@+-]*|-[A-Za-z-][A-Za-z0-9_./:@+=-]*"
                    r"|[0-9]+(?:ms|s|m|h)")  # durations: neither YAML reads 45s as a number
# Words either YAML version reads as something other than a string.
_SPECIAL = {"y", "n", "yes", "no", "on", "off", "true", "false", "null", "~"}
WIDTH = 100


def scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if value is None:
        return "null"
    text = str(value)
    if _PLAIN.fullmatch(text) and text.lower() not in _SPECIAL and not text.endswith(":"):
        return text
    return json.dumps(text)


def _key(key: str) -> str:
    text = scalar(key)
    if text != key:
        raise ValueError(f"compose key {key!r} would need quoting")
    return key


def _is_scalar(value: Any) -> bool:
    return not isinstance(value, (dict, list, tuple))


def _lines(value: Any, indent: int) -> list[str]:
    pad = " " * indent
    out: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            head = f"{pad}{_key(key)}:"
            if _is_scalar(item):
                out.append(f"{head} {scalar(item)}")
            elif not item:
                out.append(f"{head} {'{}' if isinstance(item, dict) else '[]'}")
            elif isinstance(item, (list, tuple)) and all(_is_scalar(x) for x in item):
                flow = f"{head} [{', '.join(scalar(x) for x in item)}]"
                if len(flow) <= WIDTH:
                    out.append(flow)
                else:
                    out.append(head)
                    out.extend(f"{pad}  - {scalar(x)}" for x in item)
            else:
                out.append(head)
                out.extend(_lines(item, indent + 2))
    elif isinstance(value, (list, tuple)):
        for item in value:
            if _is_scalar(item):
                out.append(f"{pad}- {scalar(item)}")
            else:
                nested = _lines(item, indent + 2)
                out.append(f"{pad}- {nested[0].lstrip()}")
                out.extend(nested[1:])
    else:
        out.append(pad + scalar(value))
    return out


def dump(document: dict, *, comment: str = "") -> str:
    """The document as YAML text, each line of `comment` as a leading `# ` line."""
    head = [f"# {line}".rstrip() for line in comment.splitlines()]
    body: list[str] = []
    for key, value in document.items():  # a blank line before each section and each entry of one
        if body:
            body.append("")
        if isinstance(value, dict) and value and all(isinstance(v, dict) and v for v in value.values()):
            body.append(f"{_key(key)}:")
            for i, (name, entry) in enumerate(value.items()):
                if i:
                    body.append("")
                body.extend(_lines({name: entry}, 2))
        else:
            body.extend(_lines({key: value}, 0))
    return "\n".join(head + body) + "\n"
