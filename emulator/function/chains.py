"""The function's warm chains: one pure InstanceState per instance, plus its lock.

The state and every rule about it are pure (emulator/protocol/warm_chain.py,
chain_rules.py) so that the simulator keeps the same warm state per simulated
function instance. What is left here is the driver's: a lock per instance,
which serialises its persists (a push must be decided against the head the
previous one left), and the listing that rebuilds a cold entry.
"""
from __future__ import annotations

import asyncio

from emulator.protocol import layout
from emulator.protocol.warm_chain import InstanceState


class Chains:
    """The warm states of every instance this function has seen, and their locks."""

    def __init__(self):
        self._states: dict[str, InstanceState] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    def state(self, tenant: str, engine: str, instance_id: str) -> InstanceState:
        prefix = layout.instance_prefix(tenant, engine, instance_id)
        if prefix not in self._states:
            self._states[prefix] = InstanceState(prefix)
        return self._states[prefix]

    def lock(self, state: InstanceState) -> asyncio.Lock:
        """The lock serialising persists of this instance."""
        lock = self._locks.get(state.prefix)
        if lock is None:
            lock = self._locks[state.prefix] = asyncio.Lock()
        return lock

    async def load(self, store, state: InstanceState, *, refresh: bool = False) -> InstanceState:
        if state.loaded and not refresh:
            return state
        # Taken before listing: an upload that lands while we list is then in one or the other.
        pending = dict(state.pending)
        try:
            infos = await store.list(state.prefix)
        except BaseException:
            state.forget()  # any doubt drops the entry
            raise
        listed = (layout.parse_key(info.key, info.size, info.etag, info.last_modified)
                  for info in infos)
        state.reload((obj for obj in listed if obj is not None), pending)
        return state

    def forget_all(self) -> None:
        for state in self._states.values():
            state.forget()
