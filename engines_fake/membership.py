"""Discovery registration: the engine as a member of the fleet (optional).

With WEFTKIT_DISCOVERY_URL set (see emulator/discovery/client.py for the
WEFTKIT_DISCOVERY_* variables), the engine registers once it serves - node id
= its instance id, type = its kind, protocol "http" (the data API), endpoint
127.0.0.1:PORT, group = its kind - heartbeats through the discovery client's
Presence, and leaves when it stops taking writes (SIGTERM), before its final
flush, so that nothing routes new writes to an engine that would refuse them.
Without the variable nothing happens. Engines never speak SWIM themselves.
"""
from __future__ import annotations

import logging

log = logging.getLogger("wkp.engine.membership")


def check(env: dict) -> None:
    """Validate the WEFTKIT_DISCOVERY_* settings at boot (ValueError naming the variable)."""
    from emulator.discovery.client import ClientSettings
    ClientSettings.from_env(env)


async def join(env: dict, ready: dict):
    """A started Presence, or None when discovery is not configured."""
    from emulator.discovery.client import Presence
    presence = Presence.from_env(node_id=ready["instance_id"], type=ready["kind"], protocol="http",
                                 endpoint=f"127.0.0.1:{ready['port']}", groups=(ready["kind"],),
                                 environ=env)
    if presence is not None:
        await presence.start()
    return presence


async def leave(presence) -> None:
    if presence is not None:
        await presence.stop(leave=True)
