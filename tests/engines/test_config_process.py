"""Configuration as a real process sees it: a bad variable stops the engine at
boot with exit 2 and the variable's name; the generated instance id is kept on
the volume; disabled mode never touches the network.
(Every variable's validation is covered in-process by tests/unit/test_engine_config.py.)"""
from __future__ import annotations

import json

import pytest

from .harness import call, engine_env


@pytest.mark.parametrize("settings,variable", [
    ({"WEFTKIT_PERSIST_MODE": "lambda"}, "WEFTKIT_PERSIST_MODE"),
    ({"WEFTKIT_PERSIST_MODE": "serverless", "WEFTKIT_PERSIST_ENDPOINT": "https://fn.example"},
     "WEFTKIT_PERSIST_SECRET"),
    ({"WEFTKIT_PERSIST_SCHEDULE": "every minute"}, "WEFTKIT_PERSIST_SCHEDULE"),
    ({"WEFTKIT_PERSIST_MAX_RETRIES": "-3"}, "WEFTKIT_PERSIST_MAX_RETRIES"),
])
def test_a_bad_variable_stops_the_engine_naming_it(settings, variable, engines, tmp_path):
    engine = engines("graph", settings, expect_ready=False)
    assert engine.ready is None and engine.proc.wait(10) == 2
    assert f"invalid configuration: {variable}: " in engine.proc.stderr()
    assert not (tmp_path / "vol").exists()  # stopped before touching the volume


def test_the_generated_instance_id_is_kept_on_the_volume(engines):
    first = engines("document", {})
    iid = first.ready["instance_id"]
    assert (first.data_dir / "instance_id").read_text() == iid
    assert first.proc.stop() == 0
    second = engines("document", {})
    assert second.ready["instance_id"] == iid
    assert second.proc.stop() == 0
    third = engines("document", {"WEFTKIT_PERSIST_INSTANCE_ID": "pinned-1"}, name="vol")
    assert third.ready["instance_id"] == "pinned-1"  # a configured id wins, and is not written
    assert (third.data_dir / "instance_id").read_text() == iid


def test_disabled_mode_sends_nothing_even_with_an_endpoint(function, engines):
    before = json.loads(call(function.endpoint, "GET", "/_wkp/metrics?format=json")[1])
    env = engine_env(function, mode="disabled")
    a = engines("markdown", env)
    assert a.ready["mode"] == "disabled" and a.ready["endpoint"] is None
    a.put("p", b"# page")
    status, body, _ = a.request("POST", "/admin/push")
    assert status == 409 and b"disabled" in body
    assert a.proc.stop() == 0
    after = json.loads(call(function.endpoint, "GET", "/_wkp/metrics?format=json")[1])
    assert after == before
    b = engines("markdown", env)  # state lives only in the volume
    assert b.ready["boot"] == "local" and b.get("p") == b"# page"
