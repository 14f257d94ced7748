"""Crash and replace, as the platform decides it (pure; the supervisor and the simulator share it):
a streak of failures before ready backs off, and any pod that was ready ends the streak."""
from __future__ import annotations

from emulator.supervisor.config import PlatformConfig
from emulator.supervisor.policy import (CRASHED, FAILED, KILLED, MAX_BACKOFF_S, STOPPED, PodExit,
                                        after_exit, inherited_boot_failures)

FARGATE = PlatformConfig(replace_delay_s=2.0)


def slot_history(outcomes: list[str]) -> list[float | None]:
    """A slot's pods one after another, as a driver carries the policy out:
    each pod starts from its predecessor's inherited count, and one that fails
    before ready adds its own failure. Returns the replacement delays."""
    inherited, delays = 0, []
    for cause in outcomes:
        exit = PodExit(cause, exit_code=4 if cause == FAILED else 1,
                       boot_failures=inherited + 1 if cause == FAILED else inherited)
        decision = after_exit(exit, FARGATE)
        delays.append(decision.delay_s if decision.replace else None)
        inherited = inherited_boot_failures(exit)
    return delays


def test_a_streak_of_boot_failures_doubles_the_delay_up_to_the_bound():
    assert slot_history([FAILED] * 6) == [2.0, 4.0, 8.0, 16.0, MAX_BACKOFF_S, MAX_BACKOFF_S]


def test_a_pod_that_was_ready_ends_the_streak():
    assert slot_history([FAILED, FAILED, CRASHED, FAILED]) == [2.0, 4.0, 2.0, 2.0]
    assert slot_history([FAILED, KILLED, FAILED]) == [2.0, 2.0, 2.0]


def test_what_a_replacement_inherits():
    assert inherited_boot_failures(PodExit(FAILED, 4, boot_failures=3)) == 3
    for cause in (CRASHED, KILLED, STOPPED):
        assert inherited_boot_failures(PodExit(cause, 1, boot_failures=3)) == 0
