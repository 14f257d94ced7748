"""`wkp-emu up --function lambda`: the stack on the Lambda reference function, end to end:
a real supervisor, a real engine pushing through the local Lambda host's Function URL into
runtime processes, recycled and restored through it; faults and metrics at the URL."""
from __future__ import annotations

import pytest

from tests.platforms.standins import faults_apply_at_the_front, recycle_through_the_function
from tests.support.emulator import start_emulator
from tests.supervisor.test_fleet_semantics import MANUAL

pytestmark = pytest.mark.slow


def test_up_on_the_lambda_function_pushes_recycles_and_restores(tmp_path):
    emu = start_emulator(tmp_path, MANUAL, "--function", "lambda")
    try:
        metrics = recycle_through_the_function(emu, "lambda")
        assert metrics["instances"]["cold_starts"] >= 1 and metrics["instances"]["settings"]["runtime"] == "bootstrap"
        store = emu.control.get("/v1/store")
        assert store  # the supervisor reads the same bucket the runtimes write
        faults_apply_at_the_front(emu)  # at the Function URL, before any instance
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
