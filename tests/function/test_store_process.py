"""The embedded store in a process of its own: what `wkp-emu function` starts by
default. Real processes, real signals, real sockets; every wait is on a condition."""
from __future__ import annotations

import signal
import socket
import time

import aiohttp
import psutil

from emulator.protocol.codec import Encoding
from emulator.protocol.cursor import Cursor
from tests.support import processes
from tests.support.wkp_client import WkpClient


def _port(endpoint: str) -> int:
    return int(endpoint.rsplit(":", 1)[1])


def _listener_pid(port: int, among: list[psutil.Process]) -> int | None:
    for proc in among:
        try:
            if any(c.laddr.port == port and c.status == psutil.CONN_LISTEN
                   for c in proc.net_connections("tcp")):
                return proc.pid
        except psutil.NoSuchProcess:
            pass
    return None


def _answers(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return True
    except OSError:
        return False


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def _ignores(pid: int, sig: signal.Signals) -> bool:
    """Whether `pid` ignores `sig`, from the kernel's own mask (/proc/PID/status SigIgn)."""
    with open(f"/proc/{pid}/status") as status:
        mask = next(int(line.split()[1], 16) for line in status if line.startswith("SigIgn:"))
    return bool(mask & (1 << (sig - 1)))


def _until(condition, timeout_s: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def _store_child(fn) -> psutil.Process:
    """The process listening on the store's port: a child of the function."""
    children = psutil.Process(fn.popen.pid).children()
    pid = _listener_pid(_port(fn.ready["s3_endpoint"]), children)
    assert pid is not None, f"no child of the function listens on {fn.ready['s3_endpoint']}"
    return psutil.Process(pid)


async def test_default_function_serves_persist_and_restore_with_the_store_in_a_child(tmp_path):
    log = tmp_path / "s3.log"
    fn = processes.start(["function", "--port", "0", "--s3-log", str(log)], tmp_path=tmp_path)
    try:
        store = _store_child(fn)
        assert store.pid != fn.popen.pid and store.ppid() == fn.popen.pid
        async with aiohttp.ClientSession(auto_decompress=False) as http:
            wkp = WkpClient(http, fn.ready["endpoint"], fn.ready["secret"])
            full, delta = b"F" * 70_000, b"d" * 4096
            assert (await wkp.persist(full, "full", Cursor(0, 1), encoding=Encoding.NONE)).status == 200
            assert (await wkp.persist(delta, "delta", Cursor(0, 2), Cursor(0, 1),
                                      encoding=Encoding.NONE)).status == 200
            got = await wkp.restore()
            assert got.status == 200 and got.body == full + delta
            async with http.post(fn.ready["endpoint"] + "/_wkp/reset") as resp:
                assert resp.status == 200 and (await resp.json())["removed"] == 2
            assert (await wkp.restore()).status == 204
        assert log.exists()  # the store's output went to the file, not the terminal
        assert fn.stop(signal.SIGTERM) == 0
        assert _until(lambda: _gone(store.pid)) and not _answers(_port(fn.ready["s3_endpoint"]))
    finally:
        fn.stop()


def test_the_store_dies_when_the_function_is_killed(tmp_path):
    fn = processes.start(["function", "--port", "0", "--secret", "s"], tmp_path=tmp_path)
    try:
        store = _store_child(fn)
        port = _port(fn.ready["s3_endpoint"])
        assert _answers(port)
        fn.popen.send_signal(signal.SIGKILL)
        fn.popen.wait(10)
        assert _until(lambda: _gone(store.pid)), "the store outlived its parent"
        assert _until(lambda: not _answers(port))
    finally:
        fn.stop()


def test_ctrl_c_reaches_the_store_but_the_function_decides_when_it_stops(tmp_path):
    """A terminal's Ctrl-C signals the whole group: the store must stay up until
    the function has finished with it, then stop with it."""
    fn = processes.start(["function", "--port", "0", "--secret", "s"], tmp_path=tmp_path)
    try:
        store = _store_child(fn)
        assert _ignores(store.pid, signal.SIGINT)  # deterministic, unlike "still alive right after"
        store.send_signal(signal.SIGINT)
        assert _answers(_port(fn.ready["s3_endpoint"])) and store.is_running()
        assert fn.stop(signal.SIGINT) == 0
        assert _until(lambda: _gone(store.pid))
    finally:
        fn.stop()
