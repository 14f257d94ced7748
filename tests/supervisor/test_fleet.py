"""Fleet policies (pure): scale plans, rolling order, engine environments."""
from __future__ import annotations

import pytest

from emulator.supervisor.config import parse_config
from emulator.supervisor.fleet import Slot, engine_env, initial_slots, rolling_order, scale_plan


def slots(*names):
    return [Slot.parse(n) for n in names]


def test_initial_slots_follow_the_config():
    assert [s.name for s in initial_slots(parse_config(""))] == [
        "relational-1", "vector-1", "vector-2", "filestore-1"]


def test_scale_out_fills_the_lowest_free_ordinals():
    start, stop = scale_plan(slots("vector-1", "vector-3", "relational-1"), "vector", 4)
    assert [s.name for s in start] == ["vector-2", "vector-4"] and stop == []


def test_scale_in_stops_the_highest_first_and_zero_stops_all():
    start, stop = scale_plan(slots("vector-1", "vector-2", "vector-3"), "vector", 1)
    assert start == [] and [s.name for s in stop] == ["vector-3", "vector-2"]
    assert [s.name for s in scale_plan(slots("vector-1"), "vector", 0)[1]] == ["vector-1"]
    assert scale_plan(slots("vector-1"), "vector", 1) == ([], [])
    with pytest.raises(ValueError):
        scale_plan([], "vector", -1)


def test_rolling_order_is_highest_ordinal_first():
    assert [s.name for s in rolling_order(slots("vector-1", "vector-3", "vector-2"))] == [
        "vector-3", "vector-2", "vector-1"]


def test_slot_names_parse_strictly():
    assert Slot.parse("filestore-12") == Slot("filestore", 12)
    with pytest.raises(ValueError):
        Slot.parse("filestore")


def test_engine_env_layers_defaults_then_kind_and_stable_ids():
    cfg = parse_config('''
[defaults.env]
WEFTKIT_PERSIST_COMPRESSION = "gzip"
WEFTKIT_PERSIST_STRATEGY = "delta"
[fleet.vector]
replicas = 1
[fleet.vector.env]
WEFTKIT_PERSIST_STRATEGY = "full"
''')
    env = engine_env(cfg, Slot("vector", 1), endpoint="http://e", secret="s", discovery_url="http://d")
    assert env["WEFTKIT_PERSIST_MODE"] == "serverless" and env["WEFTKIT_PERSIST_ENDPOINT"] == "http://e"
    assert env["WEFTKIT_PERSIST_COMPRESSION"] == "gzip" and env["WEFTKIT_PERSIST_STRATEGY"] == "full"
    assert env["WEFTKIT_PERSIST_INSTANCE_ID"] == "vector-1"
    assert env["WEFTKIT_DISCOVERY_URL"] == "http://d"
    new_ids = parse_config('[platform]\ninstance_id = "new"')
    assert "WEFTKIT_PERSIST_INSTANCE_ID" not in engine_env(
        new_ids, Slot("vector", 1), endpoint="e", secret="s", discovery_url=None)


def test_engine_env_points_the_engine_at_its_slot_witness():
    cfg = parse_config("")
    env = engine_env(cfg, Slot("vector", 2), endpoint="e", secret="s", discovery_url=None,
                     witness_dir="/state/witness/vector-2")
    assert env["WEFTKIT_ENGINE_WITNESS_DIR"] == "/state/witness/vector-2"
    assert "WEFTKIT_ENGINE_WITNESS_DIR" not in engine_env(cfg, Slot("vector", 2), endpoint="e",
                                                          secret="s", discovery_url=None)
