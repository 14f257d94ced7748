"""`wkp-emu up --profile lambda-url`: the fit report before starting, and the function view's
platform and instances while an engine pushes through Lambda-like instances."""
import time

from tests.support.emulator import FAST, start_emulator

CONFIG = FAST.replace("[function]\n", "[function]\nkeep_alive_s = 60\n") + """
[fleet.relational]
replicas = 1
[workload.relational]
rate = 5
"""


def wait_for(check, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("condition not met in time")


def test_up_with_the_lambda_url_profile(tmp_path):
    emu = start_emulator(tmp_path, CONFIG, "--profile", "lambda-url")
    try:
        stderr = (tmp_path / "up.stderr").read_text()
        assert "function profile lambda-url: AWS Lambda behind a Function URL" in stderr
        assert "a 100 MiB push: must be split into 17 parts of at most 6 MiB" in stderr
        assert "a 1 GiB restore:" in stderr

        def pushed():
            view = emu.control.get("/v1/function")
            return view if view.get("/persist", {}).get("requests", {}).get("200", 0) >= 2 else None
        view = wait_for(pushed)
        assert view["platform"]["profile"] == "lambda-url" and view["platform"]["max_payload"] == 6291456
        inst = view["instances"]
        assert inst["settings"] == {"instances_max": 1000, "instance_concurrency": 1,
                                    "keep_alive_s": 60.0, "cold_start_ms": 250}
        assert inst["cold_starts"] >= 1 and inst["warm_hits"] >= 1 and inst["live"] >= 1
        dirs = sorted(p.name for p in (emu.state_dir / "function-instances").iterdir())
        assert dirs and all(d.startswith("i-") for d in dirs)
        metrics = emu.control.request("GET", "/metrics", raw=True).decode()
        assert "wkp_function_instance_cold_starts_total" in metrics
    finally:
        assert emu.stop() == 0
