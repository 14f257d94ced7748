"""Reading a reference function's environment: the store's name, the secret
and the core's limits, with errors that name the variable.

Shared by the Lambda, Cloud Functions and Azure Functions entry points.
"""
from __future__ import annotations

from typing import Mapping

from emulator.protocol.function_rules import Limits
from emulator.protocol.takeover import DEFAULT_LEASE_S

from .core import CoreConfig


class SetupError(RuntimeError):
    """The environment does not describe a usable function; the message names the variable."""


def number(env: Mapping[str, str], name: str, default, kind=int):
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise SetupError(f"{name}={raw!r} is not a number") from None
    if value <= 0:
        raise SetupError(f"{name}={raw!r} must be positive")
    return value


def required(env: Mapping[str, str], name: str, what: str) -> str:
    value = env.get(name)
    if not value:
        raise SetupError(f"{name} is not set: {what}")
    return value


def core_settings(env: Mapping[str, str], *, store_variable: str, store_what: str,
                  default_max_payload: int) -> tuple[str, CoreConfig]:
    """(the store's name, the core's configuration) from `env`."""
    store = required(env, store_variable, store_what)
    secret = required(env, "WEFTKIT_PERSIST_SECRET", "the secret the engines sign with")
    limits = Limits(max_payload=number(env, "WKP_MAX_PAYLOAD", default_max_payload))
    return store, CoreConfig(secret=secret, limits=limits,
                             takeover_lease_s=number(env, "WKP_TAKEOVER_LEASE_S", DEFAULT_LEASE_S, float))
