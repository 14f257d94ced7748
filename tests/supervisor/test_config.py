"""wkp-emu.toml: defaults, overrides, and errors that name the key and the line."""
from __future__ import annotations

import pytest

from emulator.supervisor.config import ConfigFileError, EmulatorConfig, parse_config
from emulator.supervisor.starter import STARTER


def test_no_file_means_the_seed_compose_fleet():
    cfg = parse_config("")
    assert {k: v.replicas for k, v in cfg.fleet.items()} == {"relational": 1, "vector": 2, "filestore": 1}
    assert cfg.platform.recycle_volume == "empty" and cfg.platform.instance_id == "stable"
    assert cfg == EmulatorConfig()


def test_the_starter_file_parses_to_the_defaults():
    assert parse_config(STARTER) == EmulatorConfig()


def test_overrides_per_kind_and_platform():
    cfg = parse_config('''
[function]
port = 0
max_payload = 6291456
[platform]
recycle_volume = "keep"
instance_id = "new"
stop_grace_s = 5
[defaults.env]
WEFTKIT_PERSIST_COMPRESSION = "gzip"
[fleet.markdown]
replicas = 3
[fleet.markdown.env]
WEFTKIT_PERSIST_STRATEGY = "delta"
WEFTKIT_PERSIST_ON_SHUTDOWN = false
''')
    assert cfg.function_port == 0 and cfg.max_payload == 6291456
    assert cfg.platform.stop_grace_s == 5.0 and cfg.platform.instance_id == "new"
    assert dict(cfg.fleet) .keys() == {"markdown"}
    assert cfg.fleet["markdown"].replicas == 3
    assert cfg.fleet["markdown"].env == {"WEFTKIT_PERSIST_STRATEGY": "delta",
                                         "WEFTKIT_PERSIST_ON_SHUTDOWN": "false"}
    assert cfg.defaults_env == {"WEFTKIT_PERSIST_COMPRESSION": "gzip"}


@pytest.mark.parametrize("text,key,line", [
    ("[fleet.vectr]\nreplicas = 1", "fleet.vectr", 1),
    ("# a comment\n[function]\nport = 70000", "function.port", 3),
    ("[function]\nprot = 1", "function.prot", 2),
    ("[fleet.vector]\nreplicas = -1", "fleet.vector.replicas", 2),
    ("[fleet.vector]\nreplicas = \"two\"", "fleet.vector.replicas", 2),
    ("[platform]\ninstance_id = \"random\"", "platform.instance_id", 2),
    ("[platform]\nstop_grace_s = 0", "platform.stop_grace_s", 2),
    ("[fleet.vector.env]\nPATH = \"/x\"", "fleet.vector.env.PATH", None),
    ("[emulator]\nheadless = \"yes\"", "emulator.headless", 2),
    ("[cluster]\nx = 1", "cluster", 1),
])
def test_errors_name_the_key_and_line(text, key, line):
    with pytest.raises(ConfigFileError) as info:
        parse_config(text, "my.toml")
    message = str(info.value)
    assert info.value.key == key and key in message and message.startswith("my.toml")
    if line:
        assert f"line {line}" in message


def test_toml_syntax_errors_carry_tomllibs_position():
    with pytest.raises(ConfigFileError) as info:
        parse_config("[function]\nport = = 3\n")
    assert "line 2" in str(info.value)


def test_the_function_target_names_are_the_target_table():
    from emulator.supervisor.config import FUNCTION_TARGET_NAMES
    from emulator.supervisor.function_targets import FUNCTION_TARGETS
    assert FUNCTION_TARGET_NAMES == tuple(FUNCTION_TARGETS)
