"""`wkp-emu package --target lambda`: the bundle holds what the function imports and nothing
else of the repository, and it runs, as written, under the local Lambda host (its own
`bootstrap` script as the runtime, its directory as the task root) on a real moto S3."""
from __future__ import annotations

import hashlib
import subprocess
import sys

import aiohttp
import pytest

from emulator.platforms.lambda_host.host import LambdaHost, LambdaHostSettings
from emulator.platforms.package_command import first_party_closure
from emulator.protocol.cursor import Cursor
from tests.conformance.conftest import WKP_EMU, clean_env
from tests.support.wkp_client import WkpClient

from .conftest import SECRET
from .test_lambda_host import wkp_env, zstd_body


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    out = tmp_path_factory.mktemp("bundle") / "fn"
    done = subprocess.run(WKP_EMU + ["package", "--target", "lambda", "-o", str(out)],
                          capture_output=True, text=True, env=clean_env())
    assert done.returncode == 0, done.stderr
    assert f"see {out}/README.md" in done.stdout
    return out


def test_the_bundle_has_the_handler_the_core_and_only_pure_modules(bundle):
    files = {str(p.relative_to(bundle)) for p in bundle.rglob("*") if p.is_file()}
    assert {"bootstrap", "requirements.txt", "README.md", "wkp_functions/aws_lambda/handler.py",
            "wkp_functions/aws_lambda/bootstrap.py", "wkp_functions/core.py", "wkp_functions/stores/s3.py",
            "emulator/protocol/chain_rules.py", "emulator/store/interface.py"} <= files
    assert not any(f.startswith(("emulator/function/", "emulator/supervisor/", "tests/")) for f in files)
    assert (bundle / "bootstrap").stat().st_mode & 0o111
    readme = (bundle / "README.md").read_text()
    assert "--invoke-mode RESPONSE_STREAM" in readme and "AWS_LAMBDA_EXEC_WRAPPER=/var/task/bootstrap" in readme
    assert (bundle / "requirements.txt").read_text().split() == ["boto3>=1.43", "zstandard>=0.22"]


def test_the_bundle_imports_its_own_copies(bundle):
    done = subprocess.run([sys.executable, "-c", "import wkp_functions.aws_lambda.bootstrap, "
                           "emulator.protocol.chain_rules as m, sys; print(m.__file__); "
                           "print(sorted(k for k in sys.modules if k.startswith('emulator.')))"],
                          cwd=bundle, env={**clean_env(), "PYTHONPATH": str(bundle)},
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    path, modules = done.stdout.splitlines()
    assert path.startswith(str(bundle))
    assert "emulator.function" not in modules and "emulator.store.s3" not in modules


def test_closure_follows_relative_and_absolute_imports():
    closure = first_party_closure(["wkp_functions.stores.s3"])
    assert {"wkp_functions", "wkp_functions.stores", "emulator.store.interface",
            "emulator.protocol.errors"} <= set(closure)


async def test_the_bundle_serves_under_the_local_lambda_host(bundle, bucket):
    settings = LambdaHostSettings(env=wkp_env(bucket), runtime="bundle", task_root=bundle)
    async with LambdaHost(settings) as host, aiohttp.ClientSession(auto_decompress=False) as http:
        wkp = WkpClient(http, host.endpoint, SECRET)
        full = zstd_body(3_500_000)
        delta = zstd_body(3_500_000)
        assert (await wkp.persist(full, "full", Cursor(1, 1))).status == 200
        assert (await wkp.persist(delta, "delta", Cursor(1, 2), Cursor(1, 1))).status == 200
        reply = await wkp.restore()  # 7 MB: only a streamed response carries it
        assert reply.status == 200 and reply.body == full + delta
        assert reply.headers["X-WeftKit-Checksum"] == "sha256=" + hashlib.sha256(reply.body).hexdigest()
        assert host.counters.cold_starts == 1  # one runtime: the bundle's bootstrap script


def test_a_non_empty_directory_is_refused_unless_forced(tmp_path):
    out = tmp_path / "taken"
    out.mkdir()
    (out / "mine.txt").write_text("keep me")
    done = subprocess.run(WKP_EMU + ["package", "--target", "lambda", "-o", str(out)],
                          capture_output=True, text=True, env=clean_env())
    assert done.returncode == 2 and "exists and is not empty" in done.stderr and "Traceback" not in done.stderr
    assert (out / "mine.txt").exists()
    forced = subprocess.run(WKP_EMU + ["package", "--target", "lambda", "-o", str(out), "--force"],
                            capture_output=True, text=True, env=clean_env())
    assert forced.returncode == 0 and not (out / "mine.txt").exists() and (out / "bootstrap").exists()
