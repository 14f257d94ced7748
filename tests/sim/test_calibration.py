"""The calibration profile: the shipped one loads, bad files are named, older profiles still load,
engine starts are drawn by concurrency, and the script measures the live stack."""
from __future__ import annotations

import random
import re
import statistics
import subprocess
import sys
from pathlib import Path

import pytest

from sim.calibration import CalibrationError, Line, load_calibration, parse_calibration
from sim.engine_start import StartPoint, StartTimes, start_times

REPO = Path(__file__).resolve().parents[2]


def test_the_shipped_profile_is_dated_describes_its_machine_and_covers_every_kind():
    from emulator.protocol.names import ENGINE_KINDS
    c = load_calibration()
    assert len(c.measured_on) == 10 and "CPU" in c.machine
    assert c.persist.base_s > 0 and c.restore.base_s > 0 and c.engine_boot_s > 0
    assert set(c.kinds) == set(ENGINE_KINDS)
    assert c.codec("markdown").ratio > c.codec("filestore").ratio >= 0.9


def test_a_latency_line_is_a_base_plus_a_cost_per_mib():
    assert Line(0.01, 0.5).seconds(2 << 20) == pytest.approx(1.01)


def test_an_unknown_kind_costs_nothing_to_compress_and_does_not_shrink():
    c = load_calibration()
    assert c.codec("no-such-kind").ratio == 1.0


@pytest.mark.parametrize("change, expected", [
    (("base_s = ", "base_s = -"), "persist.base_s: must be a number >= 0"),
    (("[engine_boot]", "[boot]"), "missing table [engine_boot]"),
    (("ratio = ", "ratio = 0 #"), "ratio: must be more than 0"),
    (("[calibration]", "[calibration"), "not valid TOML"),
])
def test_bad_profiles_are_refused_naming_the_key(change, expected):
    text = (REPO / "sim/calibration/default.toml").read_text().replace(*change, 1)
    with pytest.raises(CalibrationError, match=expected.replace("[", r"\[").replace("]", r"\]")):
        parse_calibration(text, "c.toml")


def test_calibrate_measures_the_live_function_and_engines_and_writes_a_loadable_profile(tmp_path):
    out = tmp_path / "cal.toml"
    proc = subprocess.run([sys.executable, str(REPO / "bench/calibrate.py"), "--rounds", "1",
                           "--sizes", "4K,64K", "--boot-sizes", "128K", "--codec-bytes", "128K",
                           "--start-singles", "2", "--start-batches", "2", "--batch-rounds", "1",
                           "--out", str(out)], capture_output=True, text=True, timeout=240, cwd=REPO)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    c = load_calibration(out)
    assert c.persist.base_s > 0 and c.engine_boot_s > 0 and c.engine_boot_restore.base_s > 0
    assert "persist:" in proc.stdout and "baseline" in proc.stdout
    # the starts beside the working fleet: two lone recycles and one batch of two, as the supervisor saw them
    start = c.engine_start
    assert start.concurrent == (1, 2) and start.samples == (2, 1)
    assert all(m > 0 for m in start.median_s) and start.stop_median_s > 0 and len(start.load_average) == 2
    assert "scenario run" in start.fleet


def test_calibrate_refuses_bad_batches():
    proc = subprocess.run([sys.executable, str(REPO / "bench/calibrate.py"), "--start-batches", "1,4"],
                          capture_output=True, text=True, timeout=60, cwd=REPO)
    assert proc.returncode == 2 and "counts of 2 or more" in proc.stderr


def test_calibrate_refuses_bad_sizes():
    proc = subprocess.run([sys.executable, str(REPO / "bench/calibrate.py"), "--sizes", "lots"],
                          capture_output=True, text=True, timeout=60, cwd=REPO)
    assert proc.returncode == 2 and "not like 256K" in proc.stderr


def test_the_profile_gives_the_model_its_service_times():
    c = load_calibration()
    p = c.model_parameters(store_call_s=0.001)
    assert p["persist_s"] == pytest.approx(c.persist.base_s - 0.001)
    assert p["store_bandwidth_bps"] == pytest.approx((1 << 20) / c.persist.per_mib_s)
    assert p["engine_boot_s"] == c.engine_boot_s


# ---- engine starts beside a working fleet ------------------------------------------------------

ENGINE_START = """
[engine_start]
fleet = "wkp-emu scenario run (live): 4 engines"
load_average = [2.5, 3.0]
concurrent = [1, 2, 6]
median_s = [0.8, 1.4, 4.2]
p10_s = [0.6, 1.2, 3.6]
p90_s = [1.2, 1.7, 5.0]
samples = [16, 3, 3]
stop_median_s = 0.25
"""


def old_profile() -> str:
    """The shipped profile as it was before [engine_start]: the idle boot and SIGTERM stop only."""
    text = (REPO / "sim/calibration/default.toml").read_text()
    return re.sub(r"\[engine_start\].*?\n\n", "", text, flags=re.S)


def test_the_shipped_profile_measures_starts_beside_a_working_fleet_with_its_load():
    start = load_calibration().engine_start
    assert start is not None and start.concurrent[0] == 1 and len(start.concurrent) >= 3
    assert start.samples[0] >= 10 and len(start.load_average) == 2 and start.stop_median_s > 0
    assert all(lo <= m <= hi for m, lo, hi in zip(start.median_s, start.p10_s, start.p90_s))


def test_an_old_profile_still_loads_and_its_idle_boot_stands_for_every_start():
    c = parse_calibration(old_profile(), "old.toml")
    assert c.engine_start is None
    p = c.model_parameters()
    assert "engine_start_by_concurrency" not in p
    assert p["engine_start_s"] == pytest.approx(c.engine_boot_s - c.restore.base_s)
    assert p["engine_stop_s"] == c.engine_stop_s
    starts = start_times(p)
    rng = random.Random(1)
    assert starts.draw(1, rng) == starts.draw(6, rng) == pytest.approx(p["engine_start_s"])


def test_a_measured_start_table_gives_the_model_its_rows_less_the_round_trips_it_plays():
    c = parse_calibration(old_profile() + ENGINE_START, "new.toml")
    assert c.engine_start.concurrent == (1, 2, 6) and c.engine_start.load_average == (2.5, 3.0)
    p = c.model_parameters()
    assert p["engine_start_by_concurrency"] == [[1, 0.8, 0.6, 1.2], [2, 1.4, 1.2, 1.7], [6, 4.2, 3.6, 5.0]]
    assert p["engine_start_less_s"] == c.restore.base_s
    assert p["engine_start_s"] == pytest.approx(0.8 - c.restore.base_s)
    assert p["engine_stop_s"] == pytest.approx(0.25 - c.persist.base_s)   # the final push is the model's


@pytest.mark.parametrize("change, expected", [
    (("concurrent = [1, 2, 6]", "concurrent = [2, 4, 6]"), "engine_start.concurrent: must start at 1"),
    (("samples = [16, 3, 3]", "samples = [16, 3]"), "one entry each per concurrency"),
    (("p90_s = [1.2,", "p90_s = [0.7,"), "p10_s <= median_s <= p90_s"),
    (("median_s = [0.8,", "median_s = [-0.8,"), "engine_start.median_s: must be a non-empty array"),
    (("stop_median_s = 0.25", "stop_median_s = \"fast\""), "engine_start.stop_median_s: must be a number"),
])
def test_a_bad_start_table_is_refused_naming_the_key(change, expected):
    with pytest.raises(CalibrationError, match=expected):
        parse_calibration(old_profile() + ENGINE_START.replace(*change, 1), "c.toml")


def test_starts_are_interpolated_between_measured_concurrencies_and_extrapolated_beyond():
    s = StartTimes.from_rows([[1, 0.8, 0.6, 1.2], [2, 1.4, 1.2, 1.7], [6, 4.2, 3.6, 5.0]])
    assert s.median_s(1) == 0.8 and s.median_s(0) == 0.8
    assert s.median_s(4) == pytest.approx(1.4 + (4.2 - 1.4) / 2)
    assert s.median_s(8) == pytest.approx(4.2 + 2 * (4.2 - 1.4) / 4)   # the last segment's slope


def test_draws_are_lognormal_around_the_median_with_the_measured_spread_and_seeded():
    s = StartTimes.from_rows([[1, 0.8, 0.6, 1.2], [6, 4.2, 3.6, 5.0]], less_s=0.01)
    draws = [s.draw(1, random.Random(7 + i)) for i in range(4000)]
    assert statistics.median(draws) == pytest.approx(0.8 - 0.01, rel=0.03)
    deciles = statistics.quantiles(draws, n=10)
    assert deciles[0] == pytest.approx(0.6 - 0.01, rel=0.06) and deciles[-1] == pytest.approx(1.2 - 0.01, rel=0.06)
    assert min(draws) >= 0.0
    assert [s.draw(6, random.Random(3)) for _ in range(3)] == [s.draw(6, random.Random(3)) for _ in range(3)]
    busy = [s.draw(6, random.Random(i)) for i in range(500)]
    assert statistics.median(busy) > 4 * statistics.median(draws)


def test_a_start_table_must_be_ordered_from_one():
    with pytest.raises(ValueError):
        StartTimes((StartPoint(2, 1.0, 1.0, 1.0), StartPoint(1, 0.5, 0.5, 0.5)))
    with pytest.raises(ValueError):
        StartTimes(())


def test_a_live_run_s_own_start_time_replaces_the_curve():
    """sim_vs_live --pod-times live: the run's one start time, whatever starts beside it."""
    p = parse_calibration(old_profile() + ENGINE_START, "new.toml").model_parameters()
    p.update({"engine_start_s": 0.3, "engine_start_by_concurrency": None})
    assert start_times(p).draw(6, random.Random(0)) == 0.3


def test_the_live_run_s_starts_are_grouped_by_how_many_were_asked_for_at_once():
    """bench/calibrate.py reads the start scenario's evidence: a recycle is one start (its stop,
    final push included, right before), a scale out of three is one batch whose last start counts."""
    from bench.calibrate import percentile, starts_and_stops

    def ev(at, kind, subject, **data):
        return {"at": at, "kind": kind, "subject": subject, "data": data}
    events = [ev(99.0, "engine.starting", "keyvalue-1"), ev(99.9, "engine.started", "keyvalue-1"),  # before zero
              ev(104.0, "engine.stopping", "vector-1"), ev(104.1, "engine.stopped", "vector-1", exit_code=0),
              ev(104.1, "engine.starting", "vector-1"), ev(104.7, "engine.started", "vector-1"),
              ev(110.0, "engine.starting", "keyvalue-2"), ev(110.01, "engine.starting", "keyvalue-3"),
              ev(110.02, "engine.starting", "keyvalue-4"), ev(111.0, "engine.started", "keyvalue-2"),
              ev(111.5, "engine.started", "keyvalue-4"), ev(111.8, "engine.started", "keyvalue-3"),
              ev(113.0, "engine.stopping", "keyvalue-2"), ev(113.2, "engine.stopped", "keyvalue-2", exit_code=0),
              ev(118.0, "engine.starting", "keyvalue-2"), ev(118.5, "engine.started", "keyvalue-2")]
    by_k, stops = starts_and_stops(events, zero=100.0, end=200.0)
    assert by_k == {1: [pytest.approx(0.6), pytest.approx(0.5)], 3: [pytest.approx(1.79)]}
    assert stops == [pytest.approx(0.1)]   # a scale-in's stop, started again later, is no recycle's
    assert percentile([1.0, 2.0, 3.0, 4.0, 5.0], 0.1) == pytest.approx(1.4)
