"""The env file beside a compose file: where the engines' signing secret lives.

A compose file is shared, committed and pasted into issues; the secret the
engines sign WKP-1 requests with must not be in it. Every service that needs
the secret reads it from the env file (`env_file:`), a file of KEY=VALUE
lines that both compose implementations read the same way, written with mode
0600 beside the compose file.

What `wkp-emu compose` does with it (decide_secret, a pure table):

| the env file            | the secret is ours (our function or sidecars) | --endpoint: the user's function      |
|-------------------------|-----------------------------------------------|--------------------------------------|
| exists, with the secret | kept as it is                                 | kept as it is                        |
| exists, without it      | error: add the line, or delete the file       | the same                             |
| missing                 | written: $WEFTKIT_PERSIST_SECRET, or a new one | written from $WEFTKIT_PERSIST_SECRET; unset: error |

An existing env file is never rewritten, so re-running the command after
changing engines keeps the secret the stored snapshots were pushed with.
"""
from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

SECRET_VARIABLE = "WEFTKIT_PERSIST_SECRET"
_BARE = re.compile(r"[A-Za-z0-9_.+/=-]+")


@dataclass(frozen=True)
class SecretDecision:
    action: str               # keep | write | refuse
    secret: str | None = None
    source: str = ""          # for the message: where the written secret came from
    reason: str = ""          # refuse: what to do


def read_env_file(text: str) -> dict[str, str]:
    """KEY=VALUE lines as compose reads them: blank lines and # comments skipped,
    the value taken as it is after the first `=` (one pair of surrounding quotes removed)."""
    values: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key.strip()] = value
    return values


def env_value(secret: str) -> str | None:
    """The secret as an env-file value both implementations read back unchanged: bare,
    or in single quotes (literal in python-dotenv and in compose v2's reader: no `$`
    interpolation, no escapes); None if it cannot be written (a quote or a line break)."""
    if _BARE.fullmatch(secret):
        return secret
    if "'" in secret or "\n" in secret or "\r" in secret:
        return None
    return f"'{secret}'"


def env_file_text(secret: str) -> str:
    value = env_value(secret)
    if value is None:
        raise ValueError("the secret has a quote or a line break")
    return ("# The secret WeftKit engines sign WKP-1 requests with (HMAC-SHA256), read by the\n"
            "# compose file's services through env_file. Keep this file out of version control.\n"
            f"{SECRET_VARIABLE}={value}\n")


def decide_secret(*, existing: str | None, ours: bool, from_environment: str | None,
                  new_secret: str, env_file: str) -> SecretDecision:
    """existing: the env file's text (None: no such file); ours: the file runs the
    function or the sidecars that check the secret; from_environment: the caller's
    $WEFTKIT_PERSIST_SECRET."""
    if existing is not None:
        if read_env_file(existing).get(SECRET_VARIABLE):
            return SecretDecision("keep")
        return SecretDecision("refuse", reason=f"{env_file} exists but sets no {SECRET_VARIABLE}; "
                              f"add a line {SECRET_VARIABLE}=... or delete the file to have one written")
    if from_environment:
        if env_value(from_environment) is None:
            return SecretDecision("refuse", reason=f"${SECRET_VARIABLE} has a single quote or a line "
                                  f"break, which an env file cannot hold literally; write {env_file} yourself")
        return SecretDecision("write", from_environment, f"${SECRET_VARIABLE}")
    if ours:
        return SecretDecision("write", new_secret, "a new random secret")
    return SecretDecision("refuse", reason=f"set {SECRET_VARIABLE} to your function's secret "
                          f"(it is written to {env_file}), or write {env_file} yourself")


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def write_env_file(path: Path, secret: str) -> None:
    """Create it readable by its owner only, and never over an existing file."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(env_file_text(secret))
