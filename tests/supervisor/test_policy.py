"""The platform's pod policies (pure): replacement after an exit, volumes of new pods, health."""
from __future__ import annotations

import pytest

from emulator.supervisor.config import PlatformConfig
from emulator.supervisor.policy import (CRASHED, FAILED, KILLED, MAX_BACKOFF_S, REPLACE_DELAY_S,
                                        STOPPED, PodExit, after_exit, health_status, unhealthy,
                                        wipes_volume)

FARGATE = PlatformConfig()                    # recycle_volume = "empty"
PVC = PlatformConfig(recycle_volume="keep")


@pytest.mark.parametrize("origin", ["up", "scale", "recycle", "replace"])
def test_every_new_pod_starts_empty_on_fargate_and_on_its_disk_with_a_pvc(origin):
    assert wipes_volume(FARGATE, origin) is True
    assert wipes_volume(PVC, origin) is False


def test_a_restart_is_the_same_container_on_its_host_and_keeps_the_disk():
    assert wipes_volume(FARGATE, "restart") is False and wipes_volume(PVC, "restart") is False
    with pytest.raises(ValueError, match="origin"):
        wipes_volume(FARGATE, "reboot")


@pytest.mark.parametrize("cause", [CRASHED, KILLED])
def test_a_crashed_or_killed_task_is_replaced_after_the_delay_on_a_new_volume(cause):
    decision = after_exit(PodExit(cause, exit_code=-9), FARGATE)
    assert decision.replace and decision.delay_s == REPLACE_DELAY_S and decision.wipe_volume
    kept = after_exit(PodExit(cause, exit_code=-9), PVC)
    assert kept.replace and kept.delay_s == REPLACE_DELAY_S and not kept.wipe_volume


def test_a_pod_stopped_on_purpose_or_during_shutdown_is_not_replaced():
    assert not after_exit(PodExit(STOPPED, 0), FARGATE).replace
    assert not after_exit(PodExit(KILLED, -9), FARGATE, shutting_down=True).replace
    assert not after_exit(PodExit(CRASHED, 1), FARGATE, shutting_down=True).replace


def test_boot_failures_back_off_and_a_refused_configuration_is_left_failed():
    delays = [after_exit(PodExit(FAILED, 4, boot_failures=n), FARGATE).delay_s for n in (1, 2, 3, 10)]
    assert delays == [REPLACE_DELAY_S, 2 * REPLACE_DELAY_S, 4 * REPLACE_DELAY_S, MAX_BACKOFF_S]
    assert after_exit(PodExit(FAILED, 4, boot_failures=1), FARGATE).wipe_volume
    bad_config = after_exit(PodExit(FAILED, 2, boot_failures=1), FARGATE)
    assert not bad_config.replace and "same way" in bad_config.reason
    with pytest.raises(ValueError, match="cause"):
        after_exit(PodExit("vanished"), FARGATE)


def test_health_is_running_only_when_every_service_and_engine_is():
    services = {"store": "running", "function": "running", "discovery": "disabled"}
    assert health_status(services, {"vector-1": "running", "vector-2": "running"}) == "running"
    assert health_status(services, {}) == "running"  # scaled to zero is healthy
    for state in ("failed", "crashed", "killed", "starting", "stopping"):
        assert health_status(services, {"vector-1": "running", "vector-2": state}) == "degraded"
    assert health_status({**services, "discovery": "stopped"}, {"vector-1": "running"}) == "degraded"
    assert unhealthy({**services, "discovery": "stopped"}, {"a-1": "failed", "b-1": "running"}) == {
        "discovery": "stopped", "a-1": "failed"}
