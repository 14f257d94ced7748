"""An ObjectStore wrapper that applies injected store faults before each call."""
from __future__ import annotations

import asyncio

from emulator.store.interface import StoreUnavailable


class FaultyStore:
    def __init__(self, store, faults):
        self._store, self._faults = store, faults

    async def _gate(self) -> None:
        hit = self._faults.on_store_call()
        if hit.delay_s:
            await asyncio.sleep(hit.delay_s)
        if hit.drop:
            raise StoreUnavailable(f"object store unavailable: {hit.reason}")

    def __getattr__(self, name):
        attr = getattr(self._store, name)
        if name == "stream":
            async def stream(*args, **kwargs):
                await self._gate()
                async for chunk in attr(*args, **kwargs):
                    yield chunk
            return stream
        if not asyncio.iscoroutinefunction(attr):
            return attr

        async def call(*args, **kwargs):
            await self._gate()
            return await attr(*args, **kwargs)
        return call
