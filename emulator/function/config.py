"""The function's configuration (one frozen value, passed to create_app)."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

from emulator.platforms.profiles import FunctionProfile, function_profile
from emulator.protocol.function_rules import Limits
from emulator.protocol.takeover import DEFAULT_LEASE_S


@dataclass(frozen=True)
class InstanceSettings:
    """How the host runs function instances (emulator/function/instances.py).

    The defaults keep the function as it always was, one long-running process:
    one instance, never reaped, no cold start, serving as many requests at
    once as the function admits (`instance_concurrency` None: the function's
    max_inflight), so its warm state is shared by every request, as before. A
    second instance only ever starts when a request asks for one (steering,
    `X-Wkp-Emu-Instance: new`, as the conformance kit's instance clauses do):
    up to `instances_max`, 4 by default, the oldest idle evicted beyond that.
    """
    instances_max: int = 4
    instance_concurrency: int | None = None   # None: Limits.max_inflight
    keep_alive_s: float | None = None         # None: never reaped for being idle
    cold_start_ms: int = 0
    retry_after_s: int = 1

    def __post_init__(self):
        if self.instances_max < 1:
            raise ValueError(f"instances_max must be at least 1, got {self.instances_max}")
        if self.instance_concurrency is not None and self.instance_concurrency < 1:
            raise ValueError(f"instance_concurrency must be at least 1, got {self.instance_concurrency}")
        if self.keep_alive_s is not None and self.keep_alive_s <= 0:
            raise ValueError(f"keep_alive_s must be positive, got {self.keep_alive_s}")
        if self.cold_start_ms < 0:
            raise ValueError(f"cold_start_ms must be >= 0, got {self.cold_start_ms}")


@dataclass(frozen=True)
class PlatformLimits:
    """The limits a function platform puts around the function (a profile's, or overridden).
    None everywhere: no platform, the function's own limits only."""
    profile: str | None = None
    max_request_bytes: int | None = None
    max_response_bytes: int | None = None    # a longer response is cut there
    stream_unthrottled_bytes: int = 0
    stream_rate_bytes_s: float | None = None
    timeout_s: float | None = None           # a request still running then gets 502 (or is cut)

    @property
    def paces(self) -> bool:
        return self.stream_rate_bytes_s is not None or self.max_response_bytes is not None


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
    instances: InstanceSettings = field(default_factory=InstanceSettings)
    platform: PlatformLimits = field(default_factory=PlatformLimits)
    # Each instance's /tmp is a directory under this one; None: a temporary
    # directory made when the app starts and removed when it stops.
    instances_dir: str | None = None

    def __post_init__(self):
        if not self.secret:
            raise ValueError("the function needs a non-empty secret")


def apply_profile(name: str | None, *, limits: Limits, instances: dict | None = None,
                  timeout_s: float | None = None) -> tuple[Limits, InstanceSettings, PlatformLimits]:
    """The function's limits, instance settings and platform limits under profile `name`.

    What the user set explicitly (`instances`: InstanceSettings fields given,
    `timeout_s`) wins over the profile; the profile's request limit lowers
    max_payload (a platform refuses larger bodies before the function sees
    them) but never raises it. No profile: today's function, with `instances`.
    """
    explicit = {k: v for k, v in (instances or {}).items() if v is not None}
    if name is None:
        return limits, InstanceSettings(**explicit), PlatformLimits(timeout_s=timeout_s)
    p: FunctionProfile = function_profile(name)
    base = {"instances_max": p.instances_max, "instance_concurrency": p.instance_concurrency,
            "keep_alive_s": p.keep_alive_s, "cold_start_ms": round(p.cold_start.median_s * 1000)}
    settings = InstanceSettings(**{**base, **explicit})
    if p.max_request_bytes is not None and p.max_request_bytes < limits.max_payload:
        from dataclasses import replace
        limits = replace(limits, max_payload=p.max_request_bytes)
    platform = PlatformLimits(profile=p.name, max_request_bytes=p.max_request_bytes,
                              max_response_bytes=p.max_response_bytes,
                              stream_unthrottled_bytes=p.stream_unthrottled_bytes or 0,
                              stream_rate_bytes_s=p.stream_rate_bytes_s,
                              timeout_s=timeout_s if timeout_s is not None else p.timeout_s)
    return limits, settings, platform


def platform_view(config: FunctionConfig) -> dict:
    """The platform the function runs under, for the function view: its limits and what
    they mean before deploying (profiles.fit_report)."""
    p = config.platform
    view = {"profile": p.profile, "max_payload": config.limits.max_payload,
            "max_response_bytes": p.max_response_bytes,
            "stream_unthrottled_bytes": p.stream_unthrottled_bytes or None,
            "stream_rate_bytes_s": p.stream_rate_bytes_s, "timeout_s": p.timeout_s, "fit": []}
    from emulator.platforms.profiles import FUNCTION_PROFILES, fit_report
    if p.profile in FUNCTION_PROFILES:
        view["fit"] = fit_report(FUNCTION_PROFILES[p.profile])
    return view
