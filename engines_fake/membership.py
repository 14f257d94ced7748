"""The hook for discovery registration (the discovery issue fills it in).

When WEFTKIT_DISCOVERY_URL is set, the engine starts a membership participant
once it serves and stops it on exit: register with the ready-line facts (kind,
instance_id, port, ...), heartbeat, leave. The participant comes from
emulator.discovery.client; until that module provides `participant(url, info)`
returning an object with `async stop()`, the engine logs that discovery is
unavailable and runs without it. Nothing else in the engine depends on it.
"""
from __future__ import annotations

import logging

log = logging.getLogger("wkp.engine.membership")
DISCOVERY_URL = "WEFTKIT_DISCOVERY_URL"


def start(env: dict, info: dict):
    url = env.get(DISCOVERY_URL)
    if not url:
        return None
    try:
        from emulator.discovery import client
        factory = client.participant
    except (ImportError, AttributeError):
        log.warning("%s is set but emulator.discovery.client.participant is not available; "
                    "running without discovery", DISCOVERY_URL)
        return None
    return factory(url, info)
