"""The function's configuration (one frozen value, passed to create_app)."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

from emulator.protocol.function_rules import Limits
from emulator.protocol.takeover import DEFAULT_LEASE_S


@dataclass(frozen=True)
class FunctionConfig:
    secret: str
    s3_endpoint: str
    bucket: str = "wkp-emu"
    create_bucket: bool = True  # the embedded store starts empty; a user's store may not allow it
    limits: Limits = field(default_factory=Limits)
    async_storage: bool = False  # answer 202 and upload in the background
    takeover_lease_s: float = DEFAULT_LEASE_S
    restore_chunk: int = 1024 * 1024
    # Restores of one-encoding chains from a plain-http store are moved socket to
    # socket in the kernel (splice_relay.py); False streams them through Python.
    splice: bool = True
    fault_seed: int | None = None  # seeds the fault injector's RNG (tests, scenarios)
    clock: Callable[[], float] = time.time  # the only clock the handlers read

    def __post_init__(self):
        if not self.secret:
            raise ValueError("the function needs a non-empty secret")
