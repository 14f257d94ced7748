"""Engine-side views and switches the control API forwards: an engine's whole /status,
its ledger tail, and its write workload (per engine, or per kind).

A kind's workload is also remembered in the supervisor's configuration, so pods
started later for that kind (scale out, recycle, crash replacement) generate it
too; a per-engine switch lasts for that pod only (its replacement follows the
kind's setting again), as an env change on one running task would.
"""
from __future__ import annotations

import dataclasses
from types import MappingProxyType

import aiohttp

from .config import EmulatorConfig, KindConfig

WORKLOAD_PREFIX = "WEFTKIT_ENGINE_WORKLOAD_"
# The default workload `up` gives the fleet when it opens the TUI and wkp-emu.toml sets
# none: gentle, so a new user sees pushes and cursors move without filling a laptop's disk.
GENTLE_RATE = 1.0
GENTLE_RATES = {"filestore": 0.1}  # 256 KiB blobs: one every ten seconds


class EngineUnreachable(RuntimeError):
    """The engine did not answer (stopped, restarting): a 409 for the caller."""


async def engine_call(pod, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
    """(status, JSON) of one request to the pod's engine on loopback."""
    if pod.state != "running" or not pod.port:
        raise EngineUnreachable(f"{pod.name} is not running ({pod.state})")
    timeout = aiohttp.ClientTimeout(total=10)
    try:
        async with aiohttp.ClientSession(timeout=timeout) as http:
            async with http.request(method, f"{pod.url}{path}", json=body) as resp:
                return resp.status, await resp.json(content_type=None)
    except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
        raise EngineUnreachable(f"{pod.name} did not answer {method} {path}: {exc}") from None


async def ledger_tail(pod, tail: int) -> dict:
    status, data = await engine_call(pod, "GET", "/ledger")
    entries = data.get("entries") or [] if status == 200 else []
    return {"name": pod.name, "entries": entries[-tail:] if tail else entries,
            "recovery": data.get("recovery") if status == 200 else None}


def kind_workload_config(config: EmulatorConfig, kind: str, rate, value_bytes: int | None
                         ) -> EmulatorConfig:
    """`config` with `kind`'s workload rate (and value size) replaced; other workload
    settings of the kind (keys, deletes, seed, bursts) are kept."""
    fleet = dict(config.fleet)
    base = fleet.get(kind, KindConfig(0))
    env = dict(base.env)
    env[WORKLOAD_PREFIX + "RATE"] = str(rate)
    if value_bytes is not None:
        if value_bytes:
            env[WORKLOAD_PREFIX + "VALUE_BYTES"] = str(value_bytes)
        else:
            env.pop(WORKLOAD_PREFIX + "VALUE_BYTES", None)
    fleet[kind] = KindConfig(base.replicas, MappingProxyType(env))
    return dataclasses.replace(config, fleet=MappingProxyType(fleet))


def asks_for_workload(config: EmulatorConfig) -> bool:
    """Whether wkp-emu.toml set a workload anywhere ([workload.KIND] or the env tables)."""
    envs = [config.defaults_env, *(k.env for k in config.fleet.values())]
    return bool(config.workload) or any(WORKLOAD_PREFIX + "RATE" in env for env in envs)


def with_gentle_workload(config: EmulatorConfig) -> EmulatorConfig:
    """The default fleet's workload when `up` opens the TUI: only if the file asks for none."""
    if asks_for_workload(config):
        return config
    for kind in config.fleet:
        config = kind_workload_config(config, kind, GENTLE_RATES.get(kind, GENTLE_RATE), None)
    return config
