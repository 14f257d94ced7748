"""Golden reports: `wkp-emu scenario run NAME --sim` on a shipped scenario writes, byte for byte, the
report.json and summary.txt kept in tests/sim/golden/ (the cost section included).

A change to the model that moves any number fails here on purpose. When the change is meant,
regenerate the files and review their diff with the change:

    WKP_EMU_REGENERATE_GOLDEN=1 ./run-tests tests/sim/test_golden.py
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from emulator.cli import main

REPO = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).resolve().parent / "golden"
SCENARIOS = ("spot-interruption", "scale-to-zero", "function-outage", "throttling")
REGENERATE = os.environ.get("WKP_EMU_REGENERATE_GOLDEN") == "1"


def simulated(name: str, out: Path, monkeypatch) -> dict[str, str]:
    """report.json and summary.txt of `scenario run scenarios/NAME.toml --sim` (run from the repository,
    so the report names the file as the repository does)."""
    monkeypatch.chdir(REPO)
    status = main(["scenario", "run", f"scenarios/{name}.toml", "--sim", "--out", str(out), "--no-picture",
                   "--quiet"])
    assert status in (0, 1)
    return {f: (out / f).read_text() for f in ("report.json", "summary.txt")}


def _first_difference(got: str, want: str) -> str:
    a, b = got.splitlines(), want.splitlines()
    i = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
    return f"line {i + 1}:\n  got:  {a[i] if i < len(a) else '(end)'}\n  want: {b[i] if i < len(b) else '(end)'}"


@pytest.mark.parametrize("name", SCENARIOS)
def test_the_simulated_report_is_the_golden_one(name, tmp_path, monkeypatch):
    got = simulated(name, tmp_path, monkeypatch)
    files = {"report.json": GOLDEN / f"{name}.json", "summary.txt": GOLDEN / f"{name}.summary.txt"}
    if REGENERATE:
        GOLDEN.mkdir(exist_ok=True)
        for f, path in files.items():
            path.write_text(got[f])
        pytest.skip(f"regenerated golden/{name}.*")
    for f, path in files.items():
        assert path.exists(), f"no golden {path.name}: run with WKP_EMU_REGENERATE_GOLDEN=1"
        want = path.read_text()
        if got[f] != want:
            pytest.fail(f"{name}: {f} differs from golden/{path.name} from {_first_difference(got[f], want)}\n"
                        "(if the change is meant: WKP_EMU_REGENERATE_GOLDEN=1, then review the diff)")


def test_the_same_file_and_seed_give_byte_identical_reports(tmp_path, monkeypatch):
    assert simulated("spot-interruption", tmp_path / "a", monkeypatch) == \
        simulated("spot-interruption", tmp_path / "b", monkeypatch)
