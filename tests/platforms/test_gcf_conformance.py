"""The conformance kit against the Cloud Functions reference function, run by
the real functions-framework on a local GCS emulator: every clause passes
(the ones only approximable on one unnamed instance are SKIPs)."""
from __future__ import annotations

from .standins import assert_conformant, gcf_function, run_kit  # noqa: F401  (fixture)


def test_the_gcf_function_passes_the_kit(gcf_function):
    report = run_kit(gcf_function.endpoint)
    assert_conformant(report)
    assert report["summary"]["passed"] >= 40
