"""The [discovery] table: seed 003's keys and defaults, and errors that name key and line."""
from pathlib import Path

import pytest

from emulator.discovery.config import ConfigError, DiscoveryConfig, load_config, split_addr

SEED_EXAMPLE = """\
[discovery]
# Bind address
bind = "0.0.0.0:7474"
# Seed peers for initial cluster join
seeds = ["node1:7474", "node2:7474"]
# Gossip interval
gossip_interval_ms = 500
# Suspicion timeout before marking failed
suspicion_timeout_ms = 5000
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "discovery.toml"
    path.write_text(text)
    return path


def test_the_seed_example_parses_with_the_seed_defaults(tmp_path):
    config = load_config(write(tmp_path, SEED_EXAMPLE))
    assert config.bind == "0.0.0.0:7474" and config.seeds == ("node1:7474", "node2:7474")
    params = config.swim_params()
    assert (params.period, params.suspicion_timeout, params.probe_timeout) == (0.5, 5.0, 0.2)
    assert DiscoveryConfig().gossip_interval_ms == 500
    assert DiscoveryConfig().suspicion_timeout_ms == 5000


def test_every_emulator_key_is_accepted(tmp_path, ):
    text = SEED_EXAMPLE + """\
node_id = "d-1"
advertise = "127.0.0.1:7474"
api_bind = "127.0.0.1:0"
probe_timeout_ms = 100
indirect_probes = 2
gossip_fanout = 4
retransmit_mult = 3
heartbeat_interval_ms = 250
missed_heartbeats = 4
reconnect_interval_ms = 2000
sync_interval_ms = 0
reap_after_ms = 0
groups = ["edge"]
rng_seed = 9
"""
    config = load_config(write(tmp_path, text))
    params = config.swim_params()
    assert params.heartbeat_timeout == 1.0 and params.indirect_probes == 2
    assert params.gossip_fanout == 4 and params.retransmit_mult == 3 and params.sync_interval == 0
    assert config.groups == ("edge",) and config.rng_seed == 9


@pytest.mark.parametrize("line,key,words", [
    ('gossip_interval_ms = 0', "gossip_interval_ms", "integer >= 1"),
    ('gossip_interval_ms = 1.5', "gossip_interval_ms", "integer"),
    ('suspicion_timeout_ms = true', "suspicion_timeout_ms", "integer"),
    ('seeds = "node1:7474"', "seeds", "list"),
    ('seeds = ["node1"]', "seeds", "host:port"),
    ('advertise = "127.0.0.1:99999"', "advertise", "host:port"),
    ('groups = ["has space"]', "groups", "names"),
    ('node_id = "a/b"', "node_id", "name"),
    ('probe_timeout_ms = 500', "probe_timeout_ms", "shorter than gossip_interval_ms"),
    ('gosip_interval_ms = 500', "gosip_interval_ms", "unknown key"),
])
def test_a_bad_value_names_the_key_and_its_line(tmp_path, line, key, words):
    path = write(tmp_path, "[discovery]\nbind = \"127.0.0.1:0\"\n" + line + "\n")
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert error.value.key == key and error.value.line == 3
    assert str(error.value).startswith(f"{path}:3: discovery.{key}: ") and words in str(error.value)


def test_tls_keys_come_together(tmp_path):
    cert = tmp_path / "c.pem"
    cert.write_text("x")
    cases = {f'tls_cert = "{cert}"': "tls_key", f'tls_key = "{cert}"': "tls_cert",
             f'tls_cert = "{cert}"\ntls_key = "{cert}"': "tls_ca", f'tls_ca = "{cert}"': "tls_cert"}
    for lines, key in cases.items():
        with pytest.raises(ConfigError) as error:
            load_config(write(tmp_path, f"[discovery]\n{lines}\n"))
        assert error.value.key == key, lines


def test_syntax_errors_and_missing_tables_are_reported(tmp_path):
    with pytest.raises(ValueError, match=r"invalid TOML.*line 2"):
        load_config(write(tmp_path, "[discovery]\nbind = 127.0.0.1:7474\n"))
    with pytest.raises(ValueError, match=r"no \[discovery\] table"):
        load_config(write(tmp_path, "[function]\nport = 1\n"))
    with pytest.raises(ValueError, match="cannot read"):
        load_config(tmp_path / "missing.toml")


def test_command_line_overrides_win_and_are_checked(tmp_path):
    path = write(tmp_path, SEED_EXAMPLE)
    config = load_config(path, node_id="x", seeds=["127.0.0.1:1"], bind=None)
    assert config.node_id == "x" and config.seeds == ("127.0.0.1:1",) and config.bind == "0.0.0.0:7474"
    with pytest.raises(ConfigError, match="discovery.api_bind.*command line"):
        load_config(path, api_bind="nope")


@pytest.mark.parametrize("text,expected", [
    ("127.0.0.1:7474", ("127.0.0.1", 7474)), ("[::1]:80", ("::1", 80)), ("node1:0", ("node1", 0)),
])
def test_split_addr(text, expected):
    assert split_addr(text) == expected


@pytest.mark.parametrize("text", ["7474", ":80", "host:", "host:x", "host:70000", "host:٣"])
def test_split_addr_refuses(text):
    with pytest.raises(ValueError):
        split_addr(text)
