"""`wkp-emu function` with a profile and instance flags, as a user runs it: a real process."""
from __future__ import annotations

import signal
import subprocess

import aiohttp
import pytest

from emulator.protocol.function_instances import COLD_HEADER, INSTANCE_HEADER
from tests.support import processes
from tests.support.wkp_client import WkpClient


async def test_profile_prints_its_fit_report_and_applies_its_limits(tmp_path):
    fn = processes.start(["function", "--port", "0", "--profile", "lambda-url", "--keep-alive", "0.3",
                          "--instances-dir", str(tmp_path / "inst")], tmp_path=tmp_path)
    try:
        assert fn.ready["profile"] == "lambda-url" and fn.ready["max_payload"] == 6291456
        assert "a 100 MiB push: must be split into 17 parts of at most 6 MiB" in fn.stderr()
        async with aiohttp.ClientSession(auto_decompress=False) as http:
            wkp = WkpClient(http, fn.ready["endpoint"], fn.ready["secret"])
            first = await wkp.health()
            assert first.status == 200 and first.headers[COLD_HEADER] == "1"
            assert (tmp_path / "inst" / first.headers[INSTANCE_HEADER]).is_dir()
            async with http.get(fn.ready["endpoint"] + "/_wkp/instances") as r:
                view = await r.json()
            assert view["settings"] == {"instances_max": 1000, "instance_concurrency": 1,
                                        "keep_alive_s": 0.3, "cold_start_ms": 250}
    finally:
        assert fn.stop(signal.SIGTERM) == 0


@pytest.mark.parametrize("args, option", [(["--profile", "lambda"], "--profile"),
                                          (["--instances-max", "0"], "--instances-max"),
                                          (["--keep-alive", "-1"], "--keep-alive"),
                                          (["--cold-start-ms", "-3"], "--cold-start-ms"),
                                          (["--timeout", "inf"], "--timeout")])
def test_bad_instance_flags_name_the_option(args, option):
    out = subprocess.run(processes.WKP_EMU + ["function", *args], capture_output=True, text=True,
                         env=processes.test_env(), cwd=processes.REPO, timeout=60)
    assert out.returncode == 2 and option in out.stderr and "Traceback" not in out.stderr
