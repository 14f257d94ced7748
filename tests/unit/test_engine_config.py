"""WEFTKIT_PERSIST_* parsing: the seed's defaults, and every variable's validation
naming the variable (pure, in-process; tests/engines checks the process exit)."""
from __future__ import annotations

import pytest

from emulator.protocol.codec import Encoding
from emulator.protocol.engine_config import (SEED_VARIABLES, ConfigError, EngineConfig,
                                             parse_engine_config)

SERVERLESS = {"WEFTKIT_PERSIST_MODE": "serverless", "WEFTKIT_PERSIST_ENDPOINT": "https://fn.example",
              "WEFTKIT_PERSIST_SECRET": "k"}


def test_there_are_eleven_seed_variables():
    assert len(SEED_VARIABLES) == 11


def test_defaults_are_the_seeds():
    cfg = parse_engine_config({})
    assert (cfg.mode, cfg.endpoint, cfg.secret) == ("disabled", None, None)
    assert str(cfg.schedule) == "*/15 * * * *" and not cfg.schedule.seconds_resolution
    assert cfg.on_shutdown is True and cfg.restore_on_boot is True
    assert cfg.strategy == "incremental" and cfg.max_retries == 5 and cfg.max_attempts == 5
    assert cfg.compression is Encoding.ZSTD and cfg.tenant == "default" and cfg.instance_id is None
    assert cfg.takeover is False and cfg.day_seconds == 86400 and cfg.shutdown_budget_s == 30
    assert cfg.backoff_cap_s == 60


def test_every_variable_is_read():
    env = dict(SERVERLESS, WEFTKIT_PERSIST_SCHEDULE="*/2 * * * * *", WEFTKIT_PERSIST_ON_SHUTDOWN="no",
               WEFTKIT_PERSIST_RESTORE_ON_BOOT="0", WEFTKIT_PERSIST_STRATEGY="delta",
               WEFTKIT_PERSIST_MAX_RETRIES="0", WEFTKIT_PERSIST_COMPRESSION="GZIP",
               WEFTKIT_PERSIST_TENANT="acme-1", WEFTKIT_PERSIST_INSTANCE_ID="pod.7",
               WEFTKIT_PERSIST_TAKEOVER="newest", WEFTKIT_PERSIST_DAY_SECONDS="60",
               WEFTKIT_PERSIST_SHUTDOWN_BUDGET="2.5", WEFTKIT_ENGINE_WORKLOAD_RATE="20")
    cfg = parse_engine_config(env)
    assert cfg.endpoint == "https://fn.example" and cfg.secret == "k"
    assert cfg.schedule.seconds_resolution and cfg.on_shutdown is False and not cfg.restore_on_boot
    assert (cfg.strategy, cfg.max_retries, cfg.max_attempts) == ("delta", 0, 1)
    assert cfg.compression is Encoding.GZIP and (cfg.tenant, cfg.instance_id) == ("acme-1", "pod.7")
    assert cfg.takeover and cfg.day_seconds == 60 and cfg.shutdown_budget_s == 2.5
    assert cfg.workload.rate == 20


def test_workload_rate_auto_means_the_kinds_rate():
    cfg = parse_engine_config({"WEFTKIT_ENGINE_WORKLOAD_RATE": "AUTO"})
    assert cfg.workload.auto and cfg.workload.rate == 0


def test_compression_none_and_loopback_http():
    cfg = parse_engine_config(dict(SERVERLESS, WEFTKIT_PERSIST_COMPRESSION="none",
                                   WEFTKIT_PERSIST_ENDPOINT="http://127.0.0.1:8787/"))
    assert cfg.compression is Encoding.NONE and cfg.endpoint == "http://127.0.0.1:8787"


BAD = [
    ("WEFTKIT_PERSIST_MODE", "sidecar", "not one of disabled, serverless, container"),
    ("WEFTKIT_PERSIST_ENDPOINT", "ftp://x", "not an http(s) URL"),
    ("WEFTKIT_PERSIST_ENDPOINT", "http://fn.example.com", "plain http is allowed only on loopback"),
    ("WEFTKIT_PERSIST_ENDPOINT", "https://fn.example/?a=1", "query or fragment"),
    ("WEFTKIT_PERSIST_SCHEDULE", "*/15 * * *", "has 4 fields"),
    ("WEFTKIT_PERSIST_SCHEDULE", "61 * * * *", "not a valid cron expression"),
    ("WEFTKIT_PERSIST_ON_SHUTDOWN", "maybe", "not a boolean"),
    ("WEFTKIT_PERSIST_RESTORE_ON_BOOT", "2", "not a boolean"),
    ("WEFTKIT_PERSIST_STRATEGY", "snapshot", "not one of full, delta, incremental"),
    ("WEFTKIT_PERSIST_MAX_RETRIES", "-1", "out of range"),
    ("WEFTKIT_PERSIST_MAX_RETRIES", "three", "not a whole number"),
    ("WEFTKIT_PERSIST_COMPRESSION", "brotli", "not one of zstd, gzip, none"),
    ("WEFTKIT_PERSIST_TENANT", "a/../b", "not a valid tenant"),
    ("WEFTKIT_PERSIST_INSTANCE_ID", "-leading-dash", "not a valid instance id"),
    ("WEFTKIT_PERSIST_TAKEOVER", "oldest", "not one of none, newest"),
    ("WEFTKIT_PERSIST_DAY_SECONDS", "0", "out of range"),
    ("WEFTKIT_PERSIST_SHUTDOWN_BUDGET", "nan", "out of range"),
    ("WEFTKIT_PERSIST_BACKOFF_BASE", "0", "out of range"),
    ("WEFTKIT_PERSIST_BUFFER_BYTES", "1e3", "not a whole number"),
    ("WEFTKIT_ENGINE_WORKLOAD_RATE", "fast", "not a rate"),
]


@pytest.mark.parametrize("variable,value,message", BAD, ids=[f"{v}={x}" for v, x, _ in BAD])
def test_bad_values_name_their_variable(variable, value, message):
    with pytest.raises(ConfigError) as err:
        parse_engine_config(dict(SERVERLESS, **{variable: value}))
    assert err.value.variable == variable
    assert str(err.value).startswith(variable + ": ") and message in str(err.value)


@pytest.mark.parametrize("missing", ["WEFTKIT_PERSIST_ENDPOINT", "WEFTKIT_PERSIST_SECRET"])
def test_serverless_needs_endpoint_and_secret(missing):
    env = dict(SERVERLESS)
    env[missing] = "  "  # blank counts as unset
    with pytest.raises(ConfigError) as err:
        parse_engine_config(env)
    assert err.value.variable == missing and "required when WEFTKIT_PERSIST_MODE=serverless" in str(err.value)


def test_container_mode_needs_a_store_or_a_running_sidecar():
    with pytest.raises(ConfigError) as err:
        parse_engine_config({"WEFTKIT_PERSIST_MODE": "container"})
    assert err.value.variable == "WEFTKIT_PERSIST_STORE_ENDPOINT"
    cfg = parse_engine_config({"WEFTKIT_PERSIST_MODE": "container",
                               "WEFTKIT_PERSIST_STORE_ENDPOINT": "http://127.0.0.1:9000"})
    assert cfg.persists and cfg.secret is None  # the engine makes one for its own sidecar
    with pytest.raises(ConfigError) as err:
        parse_engine_config({"WEFTKIT_PERSIST_MODE": "container",
                             "WEFTKIT_PERSIST_ENDPOINT": "http://127.0.0.1:9"})
    assert err.value.variable == "WEFTKIT_PERSIST_SECRET"


def test_disabled_mode_ignores_missing_endpoint():
    assert parse_engine_config({"WEFTKIT_PERSIST_MODE": "DISABLED"}) == EngineConfig()
