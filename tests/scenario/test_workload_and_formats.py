"""The workload table, the engine's workload variables, durations and the TOML writer (pure)."""
from __future__ import annotations

import random
import tomllib
from types import SimpleNamespace

import pytest

from emulator.durations import format_duration, parse_duration
from emulator.protocol.engine_config import ConfigError, parse_engine_config
from emulator.scenario.toml_out import dumps
from emulator.supervisor.config import ConfigFileError, parse_config
from engines_fake.kinds import PROFILES, profile, sized
from engines_fake.workload import _Operations


def test_workload_table_becomes_engine_variables_and_explicit_env_wins():
    cfg = parse_config('[fleet.vector]\nreplicas = 1\n[fleet.vector.env]\nWEFTKIT_ENGINE_WORKLOAD_KEYS = "9"\n'
                       '[workload.vector]\nrate = 5\nkeys = 100\ndeletes = 0.25\nvalue_bytes = 800\n'
                       'burst_writes = 10\nburst_every = "5s"\n[workload.markdown]\nrate = "auto"\n')
    env = cfg.fleet["vector"].env
    assert env["WEFTKIT_ENGINE_WORKLOAD_RATE"] == "5.0" and env["WEFTKIT_ENGINE_WORKLOAD_KEYS"] == "9"
    assert (env["WEFTKIT_ENGINE_WORKLOAD_DELETES"], env["WEFTKIT_ENGINE_WORKLOAD_BURST_EVERY"]) == ("0.25", "5")
    # a workload for a kind not in the fleet: 0 replicas, so pods scaled in later generate it
    assert cfg.fleet["markdown"].replicas == 0
    engine = parse_engine_config({**env, "WEFTKIT_PERSIST_MODE": "disabled"})
    assert (engine.workload.rate, engine.workload.value_bytes, engine.workload.burst_writes) == (5.0, 800, 10)


@pytest.mark.parametrize("table, message", [
    ("rate = -1", "line 2: workload.vector.rate: must be writes per second"),
    ("deletes = 2", "line 2: workload.vector.deletes: must be a share from 0 to 1"),
    ("burst_writes = 3", "line 1: workload.vector.burst_every: required when burst_writes is set"),
    ("burst_every = \"often\"", "workload.vector.burst_every: must be a duration"),
    ("colour = 1", "workload.vector.colour: unknown key"),
])
def test_workload_errors_name_the_key_and_line(table, message):
    with pytest.raises(ConfigFileError) as info:
        parse_config(f"[workload.vector]\n{table}\n")
    assert message in str(info.value)


def test_engine_refuses_bad_workload_variables_by_name():
    with pytest.raises(ConfigError) as info:
        parse_engine_config({"WEFTKIT_ENGINE_WORKLOAD_BURST_WRITES": "5"})
    assert "WEFTKIT_ENGINE_WORKLOAD_BURST_EVERY" in str(info.value)
    with pytest.raises(ConfigError) as info:
        parse_engine_config({"WEFTKIT_ENGINE_WORKLOAD_DELETES": "1.5"})
    assert "WEFTKIT_ENGINE_WORKLOAD_DELETES" in str(info.value)


@pytest.mark.parametrize("kind", sorted(PROFILES))
@pytest.mark.parametrize("size", [0, 64, 5000])
def test_sized_values_stay_valid_for_their_kind(kind, size):
    value = sized(kind, random.Random(1), 3, size)
    assert profile(kind).validate(value) is None
    if size >= 200:
        assert len(value) == size


def _engine(instance_id: str, seed: int | None, deletes: float = 0.0):
    env = {"WEFTKIT_ENGINE_WORKLOAD_RATE": "1", "WEFTKIT_ENGINE_WORKLOAD_DELETES": str(deletes),
           "WEFTKIT_ENGINE_WORKLOAD_KEYS": "50"}
    if seed is not None:
        env["WEFTKIT_ENGINE_WORKLOAD_SEED"] = str(seed)
    return SimpleNamespace(config=parse_engine_config(env), profile=profile("keyvalue"), kind="keyvalue",
                           instance_id=instance_id)


def _sequence(engine, n=200):
    ops = _Operations(engine)
    return [ops.next() for _ in range(n)]


def test_a_seed_and_an_instance_id_fix_the_sequence():
    assert _sequence(_engine("keyvalue-1", 7)) == _sequence(_engine("keyvalue-1", 7))
    assert _sequence(_engine("keyvalue-1", 7)) != _sequence(_engine("keyvalue-2", 7))
    assert _sequence(_engine("keyvalue-1", 7)) != _sequence(_engine("keyvalue-1", 8))


def test_deletes_remove_keys_written_before():
    ops = _sequence(_engine("keyvalue-1", 3, deletes=0.3), 400)
    written, deletes = set(), 0
    for key, value in ops:
        if value is None:
            assert key in written
            written.discard(key)
            deletes += 1
        else:
            written.add(key)
    assert 60 < deletes < 180


def test_durations():
    assert [parse_duration(v) for v in ("500ms", "30s", "2m", "1.5h", "1d", 12, 0.5)] == \
        [0.5, 30, 120, 5400, 86400, 12, 0.5]
    for bad in ("soon", "-3s", "3 weeks", True, -1):
        with pytest.raises(ValueError):
            parse_duration(bad)
    assert [format_duration(v) for v in (0.25, 90, 120, 3600, 1.5)] == ["250ms", "90s", "2m", "1h", "1.5s"]


def test_written_toml_reads_back_the_same():
    data = {"emulator": {"state_dir": "/a b/\"c\"", "control_port": 0, "headless": True},
            "fleet": {"vector": {"replicas": 2, "env": {"WEFTKIT_X": "1"}}},
            "function": {"max_payload": 1.5}, "discovery": {"seeds": ["a:1", "b:2"]},
            "defaults": {"env": {}}}
    assert tomllib.loads(dumps(data)) == data


def test_platform_replace_delay_reaches_the_replacement_policy():
    from emulator.supervisor.policy import KILLED, PodExit, after_exit
    platform = parse_config("[platform]\nreplace_delay_s = 60\n").platform
    assert after_exit(PodExit(KILLED, -9), platform).delay_s == 60
    with pytest.raises(ConfigFileError) as info:
        parse_config("[platform]\nreplace_delay_s = 7200\n")
    assert "line 2: platform.replace_delay_s: must be from 0 to 3600 seconds" in str(info.value)


def test_boot_failures_never_retry_back_to_back():
    from emulator.supervisor.policy import FAILED, PodExit, after_exit
    platform = parse_config("[platform]\nreplace_delay_s = 0\n").platform
    assert [after_exit(PodExit(FAILED, 4, n), platform).delay_s for n in (1, 2, 3)] == [1.0, 2.0, 4.0]
