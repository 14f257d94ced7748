"""The cost section of a simulated run's report: the price table and calibration chosen, the section added.

`scenario run --sim` and sweeps call these; the pricing itself is sim/costs.py (pure).
"""
from __future__ import annotations

from .calibration import CalibrationError, load_calibration
from .costs import PriceTable, cost_section, usage_from_counts
from .price_tables import DEFAULT_PRICES, PriceFileError, load_prices


class CostInputError(ValueError):
    pass


def cost_inputs(prices: str | None, calibration: str | None) -> tuple[PriceTable, dict]:
    """The price table (a shipped name or a file; default aws-us-east-1) and the model's calibration
    parameters (a file; default the shipped profile), or CostInputError naming the bad one."""
    try:
        table = load_prices(prices or DEFAULT_PRICES)
    except PriceFileError as exc:
        raise CostInputError(f"--prices: {exc}") from None
    try:
        params = load_calibration(calibration).model_parameters()
    except CalibrationError as exc:
        raise CostInputError(f"--calibration: {exc}") from None
    return table, params


def add_cost(report: dict, counts: dict, prices: PriceTable) -> dict:
    report["cost"] = cost_section(usage_from_counts(counts), prices)
    return report
