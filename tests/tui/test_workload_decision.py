"""Who runs a write workload by default (pure): only `up` opening the TUI gives the
fleet a gentle one, and only when wkp-emu.toml sets none."""
from __future__ import annotations

import pytest

from emulator.supervisor.config import EmulatorConfig, parse_config
from emulator.supervisor.engine_admin import (GENTLE_RATE, asks_for_workload, kind_workload_config,
                                              with_gentle_workload)
from engines_fake.workload import WorkloadRejected, parse_switch


def test_the_default_fleet_asks_for_none_and_the_tui_gives_it_a_gentle_one():
    config = EmulatorConfig()
    assert not asks_for_workload(config)
    gentle = with_gentle_workload(config)
    for kind, spec in gentle.fleet.items():
        assert float(spec.env["WEFTKIT_ENGINE_WORKLOAD_RATE"]) <= GENTLE_RATE
        assert spec.replicas == config.fleet[kind].replicas
    assert gentle.fleet["filestore"].env["WEFTKIT_ENGINE_WORKLOAD_RATE"] == "0.1"


def test_a_file_that_sets_a_workload_keeps_exactly_it():
    config = parse_config("[workload.vector]\nrate = 0\n", "wkp-emu.toml")
    assert asks_for_workload(config) and with_gentle_workload(config) is config
    env_only = parse_config('[fleet.graph]\nreplicas = 1\n[fleet.graph.env]\n'
                            'WEFTKIT_ENGINE_WORKLOAD_RATE = "3"\n', "wkp-emu.toml")
    assert with_gentle_workload(env_only) is env_only


def test_a_kind_switch_replaces_rate_and_size_and_keeps_the_rest():
    config = parse_config("[workload.vector]\nrate = 5\nkeys = 10\nvalue_bytes = 64\n", "wkp-emu.toml")
    switched = kind_workload_config(config, "vector", 0.0, 0)
    env = switched.fleet["vector"].env
    assert env["WEFTKIT_ENGINE_WORKLOAD_RATE"] == "0.0" and env["WEFTKIT_ENGINE_WORKLOAD_KEYS"] == "10"
    assert "WEFTKIT_ENGINE_WORKLOAD_VALUE_BYTES" not in env
    assert kind_workload_config(config, "graph", "auto", None).fleet["graph"].replicas == 0


@pytest.mark.parametrize("body,message", [
    ({}, "expected"), ({"rate": -1}, "rate must be"), ({"rate": True}, "rate must be"),
    ({"rate": 1, "value_bytes": 1.5}, "value_bytes must be"), ({"rate": 1, "x": 1}, "unknown field 'x'"),
])
def test_bad_workload_switches_name_the_field(body, message):
    with pytest.raises(WorkloadRejected, match=message):
        parse_switch(body)
    assert parse_switch({"rate": "auto"}) == ("auto", None)
