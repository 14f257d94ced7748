"""The conformance kit against the Cloud Functions reference function, run by
the real functions-framework on a local GCS emulator, its instances worker
processes behind the front: every clause passes, the three instance clauses
included (steered onto new, chosen and reaped instances)."""
from __future__ import annotations

from .standins import assert_conformant, gcf_function, run_kit  # noqa: F401  (fixture)


def test_the_gcf_function_passes_the_kit(gcf_function):
    report = run_kit(gcf_function.endpoint)
    assert_conformant(report)
    assert report["summary"]["passed"] >= 40
