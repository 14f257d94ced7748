"""Golden reports: a shipped scenario simulated with its seed gives, byte for byte, the report kept in
tests/sim/golden/NAME.json (the scenario report, the cost section included).

A change to the model that moves any number fails here on purpose. When the change is meant,
regenerate the files and review their diff with the change:

    WKP_EMU_REGENERATE_GOLDEN=1 ./run-tests tests/sim/test_golden.py
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

GOLDEN = Path(__file__).resolve().parent / "golden"
SCENARIOS = ("spot-interruption", "scale-to-zero", "function-outage", "throttling")
REGENERATE = os.environ.get("WKP_EMU_REGENERATE_GOLDEN") == "1"


def simulated_report(name: str) -> str:
    from emulator.scenario.library import resolve
    from emulator.scenario.loader import load_scenario
    from emulator.scenario.report import build_report
    from sim.calibration import load_calibration
    from sim.costs import cost_section, usage_from_counts
    from sim.price_tables import DEFAULT_PRICES, load_prices
    from sim.runner import simulate
    scenario = load_scenario(resolve(name))
    run = simulate(scenario, calibration=load_calibration().model_parameters())
    # wall_s is the one number that is the machine's, not the model's: left out of the comparison
    report = build_report(scenario, run.evidence, runner="sim", wall_s=0.0)
    report["scenario"]["source"] = f"scenarios/{name}.toml"
    report["cost"] = cost_section(usage_from_counts(run.counts), load_prices(DEFAULT_PRICES))
    report["cost"]["prices"]["file"] = f"sim/prices/{DEFAULT_PRICES}.toml"
    return json.dumps(report, indent=2, sort_keys=True, default=str) + "\n"


@pytest.mark.parametrize("name", SCENARIOS)
def test_the_simulated_report_is_the_golden_one(name):
    path = GOLDEN / f"{name}.json"
    got = simulated_report(name)
    if REGENERATE:
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(got)
        pytest.skip(f"regenerated {path.name}")
    assert path.exists(), f"no golden report for {name}: run with WKP_EMU_REGENERATE_GOLDEN=1"
    want = path.read_text()
    if got != want:
        first = next(i for i, (a, b) in enumerate(zip(got.splitlines(), want.splitlines())) if a != b) \
            if any(a != b for a, b in zip(got.splitlines(), want.splitlines())) else min(
                len(got.splitlines()), len(want.splitlines()))
        context = "\n".join(f"  got:  {a}\n  want: {b}" for a, b in
                            list(zip(got.splitlines(), want.splitlines()))[first:first + 3])
        pytest.fail(f"{name}: the simulated report differs from golden/{path.name} from line {first + 1}:\n"
                    f"{context}\n(if the change is meant: WKP_EMU_REGENERATE_GOLDEN=1, then review the diff)")


def test_the_same_file_and_seed_give_byte_identical_reports_in_one_process():
    assert simulated_report("spot-interruption") == simulated_report("spot-interruption")
