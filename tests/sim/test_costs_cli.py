"""`scenario run --sim` reports what the run costs: the cost section, its summary lines and cost.png."""
from __future__ import annotations

import json
from pathlib import Path

from emulator.cli import main

REPO = Path(__file__).resolve().parents[2]
SCENARIO = str(REPO / "scenarios/spot-interruption.toml")


def test_a_simulated_run_reports_its_cost_by_line_item_with_the_price_table_named(tmp_path, capsys):
    assert main(["scenario", "run", SCENARIO, "--sim", "--out", str(tmp_path), "--prices", "gcp-us-central1"]) == 0
    report = json.loads((tmp_path / "report.json").read_text())
    cost = report["cost"]
    assert cost["prices"]["name"] == "gcp-us-central1" and cost["prices"]["as_of"]
    assert cost["prices"]["file"] == "sim/prices/gcp-us-central1.toml"
    items = {(i["part"], i["item"]) for i in cost["items"]}
    assert {("function", "requests"), ("store", "storage"), ("engines", "compute (vCPU)"),
            ("function", "compute (vCPU)")} <= items
    assert cost["total_month"] > 0 and cost["by_part_month"]["engines"] > 0
    summary = (tmp_path / "summary.txt").read_text()
    assert "cost per month (gcp-us-central1, list prices as of" in summary
    assert (tmp_path / "cost.png").stat().st_size > 1000
    assert "cost picture:" in capsys.readouterr().out


def test_an_own_price_file_changes_the_bill(tmp_path):
    own = tmp_path / "mine.toml"
    own.write_text((REPO / "sim/prices/aws-us-east-1.toml").read_text()
                   .replace("per_vcpu_hour = 0.04048", "per_vcpu_hour = 0.08096"))
    runs = {}
    for name, prices in (("list", "aws-us-east-1"), ("own", str(own))):
        assert main(["scenario", "run", SCENARIO, "--sim", "--out", str(tmp_path / name), "--no-picture",
                     "--quiet", "--prices", prices]) == 0
        runs[name] = json.loads((tmp_path / name / "report.json").read_text())["cost"]
    vcpu = {n: next(i["month"] for i in c["items"] if i["item"] == "compute (vCPU)" and i["part"] == "engines")
            for n, c in runs.items()}
    assert abs(vcpu["own"] - 2 * vcpu["list"]) < 1e-3
    assert runs["own"]["prices"]["file"] == str(own)


def test_bad_cost_options_are_refused_before_anything_runs(tmp_path, capsys):
    assert main(["scenario", "run", SCENARIO, "--sim", "--out", str(tmp_path / "a"), "--prices", "nope"]) == 2
    assert "--prices: nope: no such price file" in capsys.readouterr().err
    bad = tmp_path / "cal.toml"
    bad.write_text("[calibration]\n")
    assert main(["scenario", "run", SCENARIO, "--sim", "--out", str(tmp_path / "b"), "--calibration",
                 str(bad)]) == 2
    assert "--calibration:" in capsys.readouterr().err
    assert main(["scenario", "run", SCENARIO, "--prices", "aws-us-east-1"]) == 2
    assert "go with --sim" in capsys.readouterr().err
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()
