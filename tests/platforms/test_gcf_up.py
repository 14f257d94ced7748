"""`wkp-emu up --function gcf`: the stack on the Cloud Functions reference function
under functions-framework, on the GCS emulator, end to end."""
from __future__ import annotations

import pytest

from .standins import check_up_on_function


@pytest.mark.slow
def test_up_on_the_gcf_function_pushes_recycles_and_restores(tmp_path):
    check_up_on_function(tmp_path, "gcf")
