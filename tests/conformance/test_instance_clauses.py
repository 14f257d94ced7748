"""The instance clauses (seed 002) against functions with and without instance control:
wkp-emu's function with a Lambda-like instance model (steered: PASS), the same function
behind a proxy that hides its instances (approximated: SKIP, saying why), and one that can
keep only one instance (alternating cannot be routed: SKIP; the others PASS)."""
from __future__ import annotations

import json
import sys

import pytest

from .conftest import SECRET, MAX_PAYLOAD, WKP_EMU, run_kit, serve

IDS = ["instances.cold-restore.200", "instances.alternating.200", "instances.reaped-retry.replayed"]


def _function(tmp_path_factory, name, *flags):
    return serve(WKP_EMU + ["function", "--host", "127.0.0.1", "--port", "0", "--secret", SECRET,
                            "--max-payload", str(MAX_PAYLOAD), *flags],
                 tmp_path_factory.mktemp(name) / "function.stderr")


@pytest.fixture(scope="module")
def lambda_like(tmp_path_factory):
    served = _function(tmp_path_factory, "fn-lambda", "--instances-max", "3", "--instance-concurrency", "1",
                       "--keep-alive", "30", "--cold-start-ms", "20")
    yield served
    assert served.stop() == 0


def outcomes(endpoint: str) -> dict[str, tuple[str, str]]:
    done = run_kit(endpoint, "--json", "--only", "instances")
    report = json.loads(done.stdout)
    return {c["id"]: (c["outcome"], c["reason"]) for c in report["clauses"]}


def test_a_steerable_function_with_lambda_like_instances_passes(lambda_like):
    assert outcomes(lambda_like.endpoint) == {i: ("PASS", "") for i in IDS}


def test_a_function_that_hides_its_instances_is_approximated(lambda_like, tmp_path):
    proxy = serve([sys.executable, "-m", "tests.conformance.opaque_proxy", "--upstream", lambda_like.endpoint],
                  tmp_path / "proxy.stderr")
    try:
        got = outcomes(proxy.ready["endpoint"])
    finally:
        proxy.stop()
    assert {i: o for i, (o, _) in got.items()} == {i: "SKIP" for i in IDS}
    assert all("approximated: the function names no instance in its answers (X-Wkp-Emu-Instance)" in r
               for _, r in got.values())


def shared_store(lambda_like, name: str) -> list[str]:
    """Flags that put another function on lambda_like's moto (a bucket of its own): no second
    embedded store to start."""
    return ["--s3-endpoint", lambda_like.ready["s3_endpoint"], "--bucket", f"conformance-{name}"]


def test_a_function_with_one_instance_cannot_alternate(tmp_path_factory, lambda_like):
    served = _function(tmp_path_factory, "fn-one", "--instances-max", "1", *shared_store(lambda_like, "one"))
    try:
        got = outcomes(served.endpoint)
    finally:
        assert served.stop() == 0
    assert got["instances.cold-restore.200"] == ("PASS", "")
    assert got["instances.reaped-retry.replayed"] == ("PASS", "")
    outcome, reason = got["instances.alternating.200"]
    assert outcome == "SKIP" and "not every request reached the instance asked for" in reason


@pytest.mark.parametrize("profile", ["lambda-url", "gcf", "azure", "container"])
def test_our_function_passes_them_under_every_profile(tmp_path_factory, lambda_like, profile):
    """Cold starts set to 0: they make the run slower, not the answers different. The
    container profile is one instance, so alternating between two cannot be routed."""
    served = _function(tmp_path_factory, f"fn-{profile}", "--profile", profile, "--cold-start-ms", "0",
                       *shared_store(lambda_like, profile))
    try:
        got = outcomes(served.endpoint)
    finally:
        assert served.stop() == 0
    if profile == "container":
        assert got.pop("instances.alternating.200")[0] == "SKIP"
    assert got == {i: ("PASS", "") for i in IDS if i in got}
