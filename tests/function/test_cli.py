"""`wkp-emu function` as a user runs it: a real process, a JSON ready line, signals."""
from __future__ import annotations

import signal
import socket

import aiohttp

from tests.support import processes
from tests.support.wkp_client import WkpClient


def _port_is_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


async def test_runs_moto_and_the_function_then_stops_on_sigterm(tmp_path):
    fn = processes.start(["function", "--port", "0"], tmp_path=tmp_path)
    ready = fn.ready
    assert {"endpoint", "s3_endpoint", "bucket", "secret"} <= set(ready)
    assert ready["endpoint"].startswith("http://127.0.0.1:") and len(ready["secret"]) >= 32
    async with aiohttp.ClientSession(auto_decompress=False) as http:
        wkp = WkpClient(http, ready["endpoint"], ready["secret"])
        assert (await wkp.health()).status == 200
        async with http.get(ready["s3_endpoint"] + "/" + ready["bucket"]) as resp:
            assert resp.status == 200  # the bucket exists in the embedded moto
    ports = [int(u.rsplit(":", 1)[1]) for u in (ready["endpoint"], ready["s3_endpoint"])]
    assert fn.stop(signal.SIGTERM) == 0
    assert all(_port_is_free(p) for p in ports)


async def test_ctrl_c_stops_cleanly(tmp_path):
    fn = processes.start(["function", "--port", "0", "--secret", "s"], tmp_path=tmp_path)
    assert fn.ready["secret"] == "s"
    assert fn.stop(signal.SIGINT) == 0


def test_bad_arguments_name_the_option(tmp_path):
    import subprocess
    out = subprocess.run(processes.WKP_EMU + ["function", "--max-payload", "-5"],
                         capture_output=True, text=True, env=processes.test_env(), cwd=processes.REPO)
    assert out.returncode == 2 and "--max-payload" in out.stderr
