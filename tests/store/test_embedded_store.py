"""EmbeddedS3, the one owner of the embedded moto process (used by `wkp-emu
function` and `wkp-emu up`): starts, answers, logs to its file, fails with a
clear message, and never outlives its parent. Real processes and signals."""
from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import psutil
import pytest

from emulator.store.moto_server import EmbeddedS3, StoreFailed
from tests.support import processes


def _until(condition, timeout_s: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def _refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return False
    except OSError:
        return True


def test_runs_in_a_child_logs_to_its_file_and_stops(tmp_path):
    log = tmp_path / "logs" / "store.log"
    with EmbeddedS3(log_path=log) as s3:
        assert s3.pid != psutil.Process().pid and psutil.Process(s3.pid).ppid() == psutil.Process().pid
        with urllib.request.urlopen(s3.endpoint + "/") as resp:
            assert resp.status == 200  # S3's ListBuckets
        pid, port = s3.pid, s3.port
    assert _gone(pid) and _refused(port)
    assert log.exists()  # kept: the caller chose where it goes


@pytest.mark.parametrize("with_log", [True, False])
def test_a_busy_port_fails_with_the_stores_own_words(tmp_path, with_log):
    """With or without a log file of its own, the failure quotes the store."""
    log = tmp_path / "store.log" if with_log else None
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        s3 = EmbeddedS3(port=busy.getsockname()[1], log_path=log)
        with pytest.raises(StoreFailed, match="exited with 1 before it was ready.*in use") as failed:
            s3.start()
    assert not s3.running
    assert (str(log) in str(failed.value)) == with_log


PARENT = """
import json, sys, time
from emulator.store.moto_server import EmbeddedS3
s3 = EmbeddedS3(log_path=sys.argv[1]).start()
print(json.dumps({"pid": s3.pid, "port": s3.port}), flush=True)
time.sleep(600)
"""


def test_the_store_dies_with_a_parent_killed_by_sigkill(tmp_path):
    parent = subprocess.Popen([sys.executable, "-c", PARENT, str(tmp_path / "store.log")],
                              stdout=subprocess.PIPE, env=processes.test_env(), cwd=processes.REPO)
    try:
        child = json.loads(parent.stdout.readline())
        assert psutil.Process(child["pid"]).ppid() == parent.pid
        assert not _refused(child["port"])
        parent.send_signal(signal.SIGKILL)
        parent.wait(10)
        assert _until(lambda: _gone(child["pid"])), "the store outlived its parent"
        assert _until(lambda: _refused(child["port"]))
    finally:
        parent.kill()
        parent.wait()
