"""The sans-I/O core imports no I/O framework, however it grows.

A fresh interpreter imports every module under emulator/protocol (found with
pkgutil, so modules added later are covered without editing this file) and
reports, per module, any forbidden module that importing it pulled into
sys.modules. A fresh process matters: in the pytest process asyncio and
aiohttp are already loaded by plugins, so an in-process check could not fail.
"""
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Frameworks and network clients. Not `socket` or `threading` themselves: the
# stdlib and pure libraries import those innocently (email.utils imports socket,
# croniter's dateutil imports subprocess), and importing is not doing I/O.
FORBIDDEN = ("asyncio", "aiohttp", "boto3", "botocore", "aiobotocore", "s3transfer", "moto",
             "simpy", "textual", "http.client", "urllib.request", "urllib3", "requests", "httpx")

PROBE = textwrap.dedent("""
    import importlib, json, pkgutil, sys
    package_name, forbidden = sys.argv[1], sys.argv[2].split(",")
    def loaded():
        return {name for name in forbidden if name in sys.modules}
    before = loaded()
    package = importlib.import_module(package_name)
    culprits = {package_name: sorted(loaded() - before)}
    modules = [package_name]
    for info in pkgutil.walk_packages(package.__path__, package_name + "."):
        seen = loaded()
        importlib.import_module(info.name)
        modules.append(info.name)
        culprits[info.name] = sorted(loaded() - seen)
    print(json.dumps({"before": sorted(before), "modules": modules,
                      "culprits": {k: v for k, v in culprits.items() if v}}))
""")


def probe(package: str, cwd: Path) -> dict:
    result = subprocess.run([sys.executable, "-c", PROBE, package, ",".join(FORBIDDEN)],
                            cwd=cwd, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_protocol_core_imports_no_io_framework():
    report = probe("emulator.protocol", ROOT)
    assert report["before"] == [], "the interpreter loaded forbidden modules before the core"
    # the walk really covered the core (a broken walk must not pass vacuously)
    expected = {"errors", "cursor", "signing", "names", "headers", "codec", "layout",
                "restore_plan", "function_rules", "takeover", "signed_requests"}
    assert {f"emulator.protocol.{m}" for m in expected} <= set(report["modules"])
    assert report["culprits"] == {}, (
        "emulator/protocol must stay pure (the sans-I/O core, docs/architecture.md); "
        f"these imports pulled in I/O modules: {report['culprits']}")


def test_every_file_of_the_core_is_walked():
    report = probe("emulator.protocol", ROOT)
    on_disk = {f"emulator.protocol.{p.stem}" for p in (ROOT / "emulator" / "protocol").glob("*.py")
               if p.stem != "__init__"}
    assert on_disk <= set(report["modules"])


@pytest.mark.parametrize("offender", ["import asyncio", "from http import client",
                                      "import urllib.request", "import aiohttp"])
def test_the_probe_catches_a_forbidden_import(tmp_path, offender):
    """Guard the guard: a package like the core, with one bad module, is reported."""
    package = tmp_path / "fakecore"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "clean.py").write_text("import hashlib, hmac, re, zlib\n")
    (package / "sub" / "__init__.py").write_text("")
    (package / "sub" / "later.py").write_text(offender + "\n")
    report = probe("fakecore", tmp_path)
    assert "fakecore.sub.later" in report["modules"]
    assert list(report["culprits"]) == ["fakecore.sub.later"]
