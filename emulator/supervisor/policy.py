"""The platform's rules for pods, as pure functions (the supervisor and a simulator share them).

What happens after a pod exits, which volume a new pod gets, and whether the
stack is healthy are decisions of the platform being emulated (an ECS service
on Fargate, Cloud Run, a Kubernetes Deployment), not of the asyncio code that
carries them out. They live here with no I/O and no clock: callers pass the
facts in and act on the answer.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from .config import PlatformConfig

# An ECS service or a Deployment starts the replacement of a failed task after
# a scheduling delay (on Fargate about a minute, with the image pull): the
# default, one second, keeps demos and tests quick; [platform] replace_delay_s
# sets it (PlatformConfig), and this is that default.
REPLACE_DELAY_S = PlatformConfig.replace_delay_s
# A pod that keeps failing before it is ready is retried with doubling delays
# up to this bound (ECS's task-start throttling, Kubernetes' CrashLoopBackOff).
MAX_BACKOFF_S = 30.0
# Even with replace_delay_s = 0, a pod that failed before it was ready waits at
# least this long before the next try, so a broken engine cannot spin.
BOOT_RETRY_FLOOR_S = 1.0
# Exit statuses after which a new pod would fail the same way: the engine
# refused its configuration (docs/engines.md, exit 2). Left failed for a human.
HOPELESS_BOOT_EXITS = frozenset({2})

# How a pod ended (the cause), recorded by whoever saw it end.
STOPPED = "stopped"   # SIGTERM from an action (recycle, scale in, restart, down)
CRASHED = "crashed"   # exited on its own after it was ready
KILLED = "killed"     # SIGKILL with no final flush: a spot interruption, an OOM kill
FAILED = "failed"     # exited (or hung) before it was ready

# Why a new pod starts in a slot.
ORIGINS = ("up", "scale", "recycle", "replace", "restart")


@dataclass(frozen=True)
class PodExit:
    cause: str                 # STOPPED | CRASHED | KILLED | FAILED
    exit_code: int | None = None
    boot_failures: int = 0     # consecutive pods of this slot that failed before ready, this one included


@dataclass(frozen=True)
class Replacement:
    replace: bool
    delay_s: float = 0.0
    wipe_volume: bool = False
    reason: str = ""


def wipes_volume(platform: PlatformConfig, origin: str) -> bool:
    """Whether a new pod of `origin` starts on an empty volume.

    Every new pod, whatever started it (up, scale out, recycle, replacement),
    is a new task: empty on Fargate / Cloud Run ("empty"), the same disk with
    a PVC ("keep"). Only `restart` is a container restart on the same host,
    which keeps its disk under either setting.
    """
    if origin not in ORIGINS:
        raise ValueError(f"unknown pod origin {origin!r}; origins are {', '.join(ORIGINS)}")
    return origin != "restart" and platform.recycle_volume == "empty"


def after_exit(exit: PodExit, platform: PlatformConfig, *, shutting_down: bool = False) -> Replacement:
    """What the platform does once a pod has exited: replace it or not, when, on which volume."""
    wipe = wipes_volume(platform, "replace")
    if shutting_down:
        return Replacement(False, reason="the emulator is shutting down")
    if exit.cause == STOPPED:
        return Replacement(False, reason="stopped on purpose; the action decides what follows")
    if exit.cause in (CRASHED, KILLED):
        return Replacement(True, platform.replace_delay_s, wipe, f"the service replaces a {exit.cause} task")
    if exit.cause == FAILED:
        if exit.exit_code in HOPELESS_BOOT_EXITS:
            return Replacement(False, reason=f"exit {exit.exit_code}: a new pod would fail the same way")
        base = max(platform.replace_delay_s, BOOT_RETRY_FLOOR_S)  # never back to back
        delay = min(base * 2 ** max(exit.boot_failures - 1, 0), MAX_BACKOFF_S)
        return Replacement(True, delay, wipe, "failed before ready; retried with back-off")
    raise ValueError(f"unknown exit cause {exit.cause!r}")


def inherited_boot_failures(exit: PodExit) -> int:
    """The count of consecutive boot failures the replacement of this pod starts
    from (its own failure before ready adds one, and after_exit's back-off
    doubles with it): a pod that failed before ready passes its count on; a pod
    that was ready (crashed, killed, stopped) ends the streak."""
    return exit.boot_failures if exit.cause == FAILED else 0


# ---- health ------------------------------------------------------------------

SERVICE_OK = frozenset({"running", "disabled"})
ENGINE_OK = frozenset({"running"})


def health_status(services: Mapping[str, str], engines: Mapping[str, str]) -> str:
    """"running" when every service runs (or is disabled) and every engine serves.

    Anything else - an engine starting, crashed, killed and not yet replaced,
    failed at boot, a stopped service - is "degraded": the stack answers, but
    not everything a client may reach is serving. An empty fleet is healthy.
    """
    ok = (all(state in SERVICE_OK for state in services.values())
          and all(state in ENGINE_OK for state in engines.values()))
    return "running" if ok else "degraded"


def unhealthy(services: Mapping[str, str], engines: Mapping[str, str]) -> dict[str, str]:
    """{name: state} of what keeps the stack from being "running"."""
    out = {n: s for n, s in services.items() if s not in SERVICE_OK}
    out.update({n: s for n, s in engines.items() if s not in ENGINE_OK})
    return out
