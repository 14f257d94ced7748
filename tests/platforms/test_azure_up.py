"""`wkp-emu up --function azure`: the stack on the Azure Functions reference function
in our v2 host, on Azurite, end to end (skips, saying why, without Azurite)."""
from __future__ import annotations

import pytest

from .standins import check_up_on_function, require_azurite

pytestmark = pytest.mark.slow


def test_up_on_the_azure_function_pushes_recycles_and_restores(tmp_path):
    require_azurite()
    check_up_on_function(tmp_path, "azure")
