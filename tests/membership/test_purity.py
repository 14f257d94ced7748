"""The membership core is pure: importing it pulls in no I/O framework."""
import subprocess
import sys

from tests.support.processes import REPO

FORBIDDEN = ("asyncio", "aiohttp", "boto3", "botocore", "simpy", "textual", "socket")


def test_membership_imports_no_io_framework():
    code = ("import sys, emulator.membership, emulator.membership.wire\n"
            f"bad = [m for m in {FORBIDDEN!r} if m in sys.modules]\n"
            "print(','.join(bad))")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "", f"membership core imported {out.stdout.strip()}"
