"""Faults applied inside other processes: engine clocks and discovery's network.

The supervisor keeps what it set (to list and clear it) and forwards each
fault to the process that applies it over its own loopback API.
"""
from __future__ import annotations

import aiohttp

from emulator.function.faults import FaultSpecError


class RemoteFaults:
    def __init__(self, supervisor):
        self._sup = supervisor
        self.engine_skews: dict[str, float] = {}
        self.engine_partitions: set[str] = set()   # engines cut off from discovery

    async def _call(self, method: str, url: str, payload=None):
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as http:
            async with http.request(method, url, json=payload) as resp:
                body = await resp.json(content_type=None)
                if resp.status >= 400:
                    raise FaultSpecError(f"{url}: {resp.status} {body}")
                return body

    async def set_engine(self, spec: dict) -> dict:
        """clock_skew_s: skew the clock it signs with; discovery_partitioned: cut its heartbeats."""
        name = spec.get("engine")
        pod = self._sup.pod(name)
        faults = {k: spec[k] for k in ("clock_skew_s", "discovery_partitioned") if k in spec}
        if set(spec) - {"target", "engine", "clock_skew_s", "discovery_partitioned"} or len(faults) != 1:
            raise FaultSpecError("an engine fault takes engine and one of clock_skew_s (seconds, may be "
                                 "negative) or discovery_partitioned (true/false)")
        if pod.port is None:
            raise FaultSpecError(f"{name} is not running")
        if "discovery_partitioned" in faults:
            cut = faults["discovery_partitioned"]
            if not isinstance(cut, bool):
                raise FaultSpecError("discovery_partitioned must be true or false")
            await self._call("POST", f"{pod.url}/faults/discovery", {"partitioned": cut})
            (self.engine_partitions.add if cut else self.engine_partitions.discard)(name)
            return {"engine": name, "discovery_partitioned": cut}
        skew = faults["clock_skew_s"]
        if isinstance(skew, bool) or not isinstance(skew, (int, float)):
            raise FaultSpecError("clock_skew_s must be a number of seconds (may be negative)")
        await self._call("POST", f"{pod.url}/faults/clock", {"skew_s": skew})
        self.engine_skews[name] = skew
        return {"engine": name, "clock_skew_s": skew}

    async def clear_engines(self) -> int:
        cleared = 0
        for name in list(self.engine_skews):
            pod = self._sup.pods.get(name)
            if pod is not None and pod.port:
                try:
                    await self._call("POST", f"{pod.url}/faults/clock", {"skew_s": 0})
                except (aiohttp.ClientError, FaultSpecError):
                    pass  # a stopped engine has no skew to clear
            del self.engine_skews[name]
            cleared += 1
        for name in list(self.engine_partitions):
            pod = self._sup.pods.get(name)
            if pod is not None and pod.port:
                try:
                    await self._call("POST", f"{pod.url}/faults/discovery",
                                     {"partitioned": False})
                except (aiohttp.ClientError, FaultSpecError):
                    pass  # a stopped engine heartbeats no more anyway
            self.engine_partitions.discard(name)
            cleared += 1
        return cleared

    def _discovery(self) -> str:
        api = self._sup.services.discovery_api
        if not api:
            raise FaultSpecError("discovery is disabled")
        return api

    async def set_discovery(self, spec: dict) -> dict:
        payload = {k: v for k, v in spec.items() if k != "target"}
        return await self._call("POST", f"{self._discovery()}/v1/faults", payload)

    async def list_discovery(self):
        if not self._sup.services.discovery_api:
            return []
        try:
            return await self._call("GET", f"{self._discovery()}/v1/faults")
        except (aiohttp.ClientError, FaultSpecError):
            return []

    async def clear_discovery(self):
        if not self._sup.services.discovery_api:
            return 0
        return await self._call("DELETE", f"{self._discovery()}/v1/faults")
