"""Sweeps: parameters and overrides (pure), the t-interval, and whole sweeps on local processes and on a
real Dask cluster (distributed.LocalCluster: worker processes on loopback)."""
from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from emulator.scenario.sweep import (Param, SweepError, apply_overrides, combinations, mean_ci, metrics_of,
                                     parse_param, replication_seed, split_values, t_quantile)

REPO = Path(__file__).resolve().parents[2]

SCENARIO = '''\
[scenario]
name = "sweep-demo"
description = "a vector replica pushing while the schedule varies"
seed = 5
duration = "20s"

[fleet.vector]
replicas = 1

[defaults.env]
WEFTKIT_PERSIST_SCHEDULE = "*/2 * * * * *"

[workload.vector]
rate = 5

[[step]]
at = "5s"
action = "kill"
engine = "vector-1"

[[expect]]
check = "no_acknowledged_write_lost"
'''


# ---- parameters ------------------------------------------------------------------------------
def test_a_param_is_a_dotted_key_and_toml_values_with_strings_as_they_come():
    p = parse_param("fleet.vector.replicas=1,2,4")
    assert p == Param("fleet.vector.replicas", ("fleet", "vector", "replicas"), (1, 2, 4))
    p = parse_param('defaults.env.WEFTKIT_PERSIST_SCHEDULE=*/5 * * * *,"0,30 * * * *"')
    assert p.values == ("*/5 * * * *", "0,30 * * * *")      # a comma inside quotes does not split
    assert parse_param("function.async=true,false").values == (True, False)
    assert parse_param("step.1.at=5s,7.5").values == ("5s", 7.5)
    assert parse_param("step.2.at=5s").path == ("step", 1, "at")  # tables counted from 1


def test_values_split_on_commas_outside_quotes_and_brackets():
    assert split_values('"a,b",[1,2],3') == ['"a,b"', "[1,2]", "3"]
    with pytest.raises(SweepError, match="unbalanced"):
        split_values('"a,b')


@pytest.mark.parametrize("text, expected", [
    ("fleet.vector.replicas", "write KEY=V1,V2"),
    ("=1,2", "write KEY=V1,V2"),
    ("fleets.vector.replicas=1", "'fleets' is not a scenario table"),
    ("fleet=1", "name a value inside [fleet]"),
    ("fleet..replicas=1", "an empty part"),
    ("fleet.vector.replicas=1,,2", "needs one value or more"),
    ("fleet.vector.replicas=1,1", "a value is given twice"),
    ("step.0.at=1", "counted from 1"),
])
def test_bad_params_are_refused_naming_them(text, expected):
    with pytest.raises(SweepError, match=expected.replace("[", r"\[").replace("]", r"\]")):
        parse_param(text)


def test_combinations_vary_the_first_param_slowest_and_refuse_a_key_given_twice():
    a, b = parse_param("fleet.vector.replicas=1,2"), parse_param("workload.vector.rate=5,10")
    assert combinations([a, b]) == [
        (("fleet.vector.replicas", 1), ("workload.vector.rate", 5)),
        (("fleet.vector.replicas", 1), ("workload.vector.rate", 10)),
        (("fleet.vector.replicas", 2), ("workload.vector.rate", 5)),
        (("fleet.vector.replicas", 2), ("workload.vector.rate", 10))]
    assert combinations([]) == [()]
    with pytest.raises(SweepError, match="given twice"):
        combinations([a, a])


def test_overrides_set_values_in_a_copy_creating_tables_and_indexing_arrays():
    data = {"scenario": {"seed": 1}, "fleet": {"vector": {"replicas": 1}},
            "step": [{"at": "5s", "action": "kill"}]}
    out = apply_overrides(data, [("fleet.vector.replicas", 3), ("fleet.document.replicas", 2),
                                 ("step.1.at", "7s"), ("defaults.env.WEFTKIT_PERSIST_SCHEDULE", "* * * * *")])
    assert out["fleet"] == {"vector": {"replicas": 3}, "document": {"replicas": 2}}
    assert out["step"][0]["at"] == "7s" and out["defaults"]["env"]["WEFTKIT_PERSIST_SCHEDULE"] == "* * * * *"
    assert data["fleet"]["vector"]["replicas"] == 1 and "defaults" not in data   # the original is untouched


@pytest.mark.parametrize("key, expected", [
    ("step.3.at", "the file has 1 such table(s), not 3"),
    ("scenario.seed.x", "'seed' is a value, not a table"),
    ("fleet.vector", "names a whole table"),
    ("expect.1.check", "no [[expect]] tables"),
    ("fleet.1.replicas", "not an array of tables"),
])
def test_overrides_that_do_not_fit_the_file_are_refused(key, expected):
    data = {"scenario": {"seed": 1}, "fleet": {"vector": {"replicas": 1}}, "step": [{"at": "5s"}]}
    with pytest.raises(SweepError, match=expected.replace("[", r"\[").replace("]", r"\]")
                       .replace("(", r"\(").replace(")", r"\)")):
        apply_overrides(data, [(key, 2)])


def test_replications_share_seeds_across_combinations():
    assert [replication_seed(11, r) for r in range(3)] == [11, 12, 13]


# ---- statistics ------------------------------------------------------------------------------
@pytest.mark.parametrize("confidence, df, table", [
    (0.95, 1, 12.706), (0.95, 2, 4.303), (0.95, 4, 2.776), (0.95, 9, 2.262), (0.95, 30, 2.042),
    (0.99, 5, 4.032), (0.90, 10, 1.812), (0.95, 10_000, 1.960)])
def test_the_t_quantile_matches_the_printed_tables(confidence, df, table):
    assert t_quantile(confidence, df) == pytest.approx(table, abs=5e-4)


def test_mean_and_interval_of_replications():
    ci = mean_ci([1, 2, 3, 4, 5])
    assert ci.mean == 3 and ci.half_width == pytest.approx(2.776 * math.sqrt(2.5 / 5), abs=1e-3)
    assert (ci.low, ci.high) == (pytest.approx(3 - ci.half_width), pytest.approx(3 + ci.half_width))
    one = mean_ci([7.0, None])                  # a metric a replication did not measure is left out
    assert (one.mean, one.half_width, one.n) == (7.0, None, 1)
    assert mean_ci([]).mean is None and mean_ci([], 0.9).text() == "-"
    with pytest.raises(SweepError, match="between 0 and 1"):
        t_quantile(1.5, 3)


def test_metrics_come_from_the_report_and_its_cost_section():
    report = {"passed": True, "function": {"counts": {"pushes": 9, "push_attempts": 10, "restores": 1,
                                                      "status_409": 0, "status_429": 1, "status_5xx": 0}},
              "engines": {"vector-1": {"bytes_pushed": 100}, "vector-2": {"bytes_pushed": 50}},
              "losses": {"lost": 3}, "data_at_risk": {"p99_s": 1.5, "max_s": 2.0},
              "recoveries": [{"seconds": 4.0}, {"seconds": None}, {"seconds": 6.5}],
              "cost": {"total_month": 12.5}}
    m = metrics_of(report)
    assert m["bytes_pushed"] == 150 and m["recovery_max_s"] == 6.5 and m["cost_month"] == 12.5
    assert m["passed"] == 1.0 and m["status_429"] == 1 and m["risk_max_s"] == 2.0


# ---- whole sweeps ------------------------------------------------------------------------------
def sweep(tmp_path, *args, timeout=240):
    path = tmp_path / "demo.toml"
    path.write_text(SCENARIO)
    return subprocess.run([sys.executable, "-m", "emulator.cli", "scenario", "sweep", str(path),
                           "--out", str(tmp_path / "out"), *args], capture_output=True, text=True,
                          timeout=timeout, cwd=tmp_path)


def test_a_sweep_on_local_processes_reports_every_combination_with_intervals(tmp_path):
    proc = sweep(tmp_path, "--param", "defaults.env.WEFTKIT_PERSIST_SCHEDULE=*/2 * * * * *,*/5 * * * * *",
                 "--replications", "3", "--workers", "2")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads((tmp_path / "out/sweep.json").read_text())
    rows = report["combinations"]
    assert [r["overrides"] for r in rows] == [{"defaults.env.WEFTKIT_PERSIST_SCHEDULE": "*/2 * * * * *"},
                                              {"defaults.env.WEFTKIT_PERSIST_SCHEDULE": "*/5 * * * * *"}]
    assert all(r["runs"] == 3 and not r["errors"] for r in rows)
    assert [x["seed"] for x in rows[0]["replications"]] == [5, 6, 7] == [x["seed"] for x in rows[1]["replications"]]
    fast, slow = (r["metrics"] for r in rows)
    assert fast["pushes"]["mean"] > slow["pushes"]["mean"]           # pushing more often pushes more ...
    assert fast["risk_max_s"]["mean"] < slow["risk_max_s"]["mean"]   # ... and leaves less at risk
    assert fast["cost_month"]["mean"] > 0 and fast["pushes"]["n"] == 3
    assert "what-if: cost per month against the worst data-at-risk window" in proc.stdout
    assert (tmp_path / "out/whatif.png").stat().st_size > 1000
    assert (tmp_path / "out/summary.txt").read_text() in proc.stdout


@pytest.mark.parametrize("args, expected", [
    (["--param", "fleet.vector.replicas=1,-1"], "fleet.vector.replicas: must be an integer >= 0"),
    (["--param", "flet.vector.replicas=1"], "'flet' is not a scenario table"),
    (["--param", "step.1.engine=vector-1,vector-9"], "vector-9 does not exist"),
    (["--replications", "0"], "--replications must be 1 or more"),
    (["--prices", "moon-base-1"], "no such price file"),
])
def test_bad_sweeps_stop_before_anything_runs_naming_the_problem(tmp_path, args, expected):
    proc = sweep(tmp_path, *args, timeout=60)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert expected in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "out").exists()


def test_an_unreachable_scheduler_is_exit_3(tmp_path):
    import socket
    with socket.socket() as s:          # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = sweep(tmp_path, "--scheduler", f"tcp://127.0.0.1:{port}", "--connect-timeout", "1",
                 "--replications", "1", timeout=90)
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "no Dask scheduler at" in proc.stderr


def test_a_sweep_across_a_real_dask_cluster(tmp_path):
    from distributed import LocalCluster
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster:
        proc = sweep(tmp_path, "--param", "workload.vector.rate=2,8", "--replications", "2",
                     "--scheduler", cluster.scheduler_address)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads((tmp_path / "out/sweep.json").read_text())
    assert report["runner"].startswith("dask tcp://127.0.0.1:") and report["cluster"]["workers"] == 2
    assert sum(report["cluster"]["results_on"].values()) == 4
    low, high = (r["metrics"] for r in report["combinations"])
    assert high["bytes_pushed"]["mean"] > low["bytes_pushed"]["mean"]
    assert all(r["runs"] == 2 and not r["errors"] for r in report["combinations"])


def test_a_combination_is_labelled_by_the_shortest_unambiguous_keys():
    from emulator.scenario.sweep import label
    assert label([("fleet.vector.replicas", 2), ("workload.vector.rate", 5)]) == "replicas=2, rate=5"
    assert label([("fleet.vector.replicas", 2), ("fleet.relational.replicas", 1)]) == \
        "vector.replicas=2, relational.replicas=1"
    assert label([]) == "(as written)"


@pytest.mark.parametrize("workers", ["1", "2"])
def test_ctrl_c_stops_a_sweep_with_130_and_writes_nothing(tmp_path, workers):
    import os
    import signal
    path = tmp_path / "demo.toml"
    path.write_text(SCENARIO.replace('duration = "20s"', 'duration = "2h"'))
    proc = subprocess.Popen([sys.executable, "-m", "emulator.cli", "scenario", "sweep", str(path),
                             "--replications", "50", "--workers", workers, "--out", str(tmp_path / "out")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    line = proc.stdout.readline()          # the plan is printed when the runs begin
    assert "simulated runs" in line
    os.kill(proc.pid, signal.SIGINT)       # whenever it lands after the plan, the exit is the same
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, out + err
    assert "interrupted after" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()
