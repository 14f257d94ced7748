"""`wkp-emu up --function lambda`: the stack on the Lambda reference function, end to end:
a real supervisor, a real engine pushing through the local Lambda host's Function URL into
runtime processes, recycled and restored through it; faults and metrics at the URL."""
from __future__ import annotations

import pytest

from emulator.api.client import ControlError

from tests.support.emulator import start_emulator
from tests.supervisor.test_fleet_semantics import MANUAL, digest, engine_status, push_and_wait, running_pod
from tests.supervisor.test_up import call, write_records

pytestmark = pytest.mark.slow


def test_up_on_the_lambda_function_pushes_recycles_and_restores(tmp_path):
    emu = start_emulator(tmp_path, MANUAL, "--function", "lambda")
    try:
        url = emu.engine_url("relational-1")
        write_records(url, "relational", 8)
        push_and_wait(url)
        state = digest(url)
        recycled = emu.control.post("/v1/engines/relational-1/recycle")
        running_pod(emu, "relational-1", recycled["generation"])
        url = emu.engine_url("relational-1")
        assert engine_status(url)["boot"]["how"] == "restored" and digest(url) == state

        metrics = emu.control.get("/v1/function")
        assert metrics["platform"]["target"] == "lambda"
        assert metrics["/persist"]["requests"].get("200", 0) >= 1
        assert metrics["/restore"]["requests"].get("200", 0) >= 1
        assert metrics["instances"]["cold_starts"] >= 1 and metrics["instances"]["settings"]["runtime"] == "bootstrap"
        store = emu.control.get("/v1/store")
        assert store  # the supervisor reads the same bucket the runtimes write

        fault = emu.control.post("/v1/faults", {"target": "function", "kind": "error", "status": 503,
                                                "count": 1, "paths": ["/health"]})
        assert fault["target"] == "function"
        status, _ = call("GET", emu.ready["function"] + "/health")
        assert status == 503  # injected at the Function URL, before any instance
        with pytest.raises(ControlError) as refused:
            emu.control.post("/v1/faults", {"target": "store", "kind": "outage"})
        assert refused.value.status == 400 and "aiohttp" in str(refused.value)
    finally:
        assert emu.stop() == 0
    assert any(p.is_file() for p in (emu.state_dir / "store").rglob("*"))  # exported on the way down


def test_the_target_key_is_validated_with_its_line(tmp_path):
    from emulator.supervisor.config import ConfigFileError, load_config
    path = tmp_path / "wkp-emu.toml"
    path.write_text('[function]\nport = 0\ntarget = "lamda"\n')
    with pytest.raises(ConfigFileError) as info:
        load_config(str(path))
    message = str(info.value)
    assert info.value.key == "function.target" and "line 3" in message and "lambda" in message
    path.write_text('[function]\ntarget = "lambda"\n')
    assert load_config(str(path)).function_target == "lambda"
