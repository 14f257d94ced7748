"""`wkp-emu up --function azure`: the stack on the Azure Functions reference function
in our v2 host, on Azurite, end to end (skips, saying why, without Azurite)."""
from __future__ import annotations

import pytest

from .standins import check_up_on_function, require_azurite


@pytest.mark.slow
def test_up_on_the_azure_function_pushes_recycles_and_restores(tmp_path):
    require_azurite()
    check_up_on_function(tmp_path, "azure")


async def test_a_stand_in_that_cannot_start_is_a_clear_error_not_a_traceback(tmp_path, monkeypatch):
    """Azurite missing: the target's start says so (up prints it and exits 1)."""
    from types import SimpleNamespace

    from emulator.platforms.azure_host import standin
    from emulator.platforms.standin_target import AzureTarget
    from emulator.supervisor.config import EmulatorConfig
    from emulator.supervisor.supervisor import ActionError

    monkeypatch.setattr(standin, "azurite_binary", lambda: None)
    services = SimpleNamespace(config=EmulatorConfig(), secret="s", state_dir=tmp_path, host="127.0.0.1")
    with pytest.raises(ActionError) as err:
        await AzureTarget.start(services)
    assert "Azurite is not installed: run scripts/azurite-setup.sh" in str(err.value)
