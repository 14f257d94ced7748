"""The calibration profile: the shipped one loads, bad files are named, and the script measures the live stack."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from sim.calibration import CalibrationError, Line, load_calibration, parse_calibration

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
                           "--out", str(out)], capture_output=True, text=True, timeout=120, cwd=REPO)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    c = load_calibration(out)
    assert c.persist.base_s > 0 and c.engine_boot_s > 0 and c.engine_boot_restore.base_s > 0
    assert "persist:" in proc.stdout and "baseline" in proc.stdout


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


def test_the_engine_start_delay_is_the_empty_boot_less_its_restore_round_trip():
    c = load_calibration()
    assert c.model_parameters()["engine_start_s"] == pytest.approx(c.engine_boot_s - c.restore.base_s)
