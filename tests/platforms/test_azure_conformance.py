"""The conformance kit against the Azure Functions reference function, run by
our v2-model host on Azurite, its instances host processes behind the front:
every clause passes, the three instance clauses included. Skips, saying why, where Azurite is not
installed (scripts/azurite-setup.sh needs node and npm)."""
from __future__ import annotations

from .standins import assert_conformant, azure_function, run_kit  # noqa: F401  (fixture)


def test_the_azure_function_passes_the_kit(azure_function):
    report = run_kit(azure_function.endpoint)
    assert_conformant(report)
    assert report["summary"]["passed"] >= 40
