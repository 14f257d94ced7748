"""The kit against a deliberately broken function (broken_function.py): it must
report exactly the planted bugs as FAIL, the missing extensions as WARN, and
exit non-zero; checked through the CLI's printed lines and exit status."""
from __future__ import annotations

import json
import re
import socket

from emulator.conformance import registry

from .conftest import run_kit

# Bug 1 (any signature accepted), bug 2 (never 409), bug 3 (wrong restore checksum).
PLANTED = {
    "health.bad-signature.401", "auth.bad-signature.401", "auth.missing-signature.401",
    "auth.other-body.401", "auth.restore-bad-signature.401", "auth.restore-tampered-query.401",
    "persist.cursor-gap.409", "persist.delta-without-full.409",
    "restore.chain-zstd.200", "restore.chain-gzip.200", "restore.chain-identity.200",
    # the instance clauses meet bug 3 in every restore, and alternating meets bug 2 too
    "instances.cold-restore.200", "instances.alternating.200", "instances.reaped-retry.replayed",
}
# Extensions it lacks, plus the open /health that bug 1 implies: warnings only.
WARNED = {
    "health.unsigned.401", "persist.too-large.names-limit", "persist.full-behind-head.409",
    "restore.headers.kind-and-deltas", "restore.point-in-time.200", "restore.strategy-full.200",
    "restore.mixed-encoding.200", "restore.split-parts.complete-only",
    "restore.takeover-newest.200",
}
LINE = re.compile(r"(PASS|FAIL|WARN|SKIP)  (\S+) {2,}(\S.*?)(?:  — (.+))?")
SUMMARY = re.compile(r"conformance: (\d+) passed, (\d+) failed, (\d+) warnings?, (\d+) skipped")


def _outcomes(stdout: str) -> tuple[dict[str, tuple[str, str]], str]:
    *lines, last = stdout.strip().splitlines()
    parsed = {}
    for line in lines:
        match = LINE.fullmatch(line)
        assert match, f"malformed line: {line!r}"
        parsed[match[2]] = (match[1], match[4] or "")
    return parsed, last


def test_reports_exactly_the_planted_bugs(broken_function):
    done = run_kit(broken_function.endpoint)
    assert done.returncode == 1, done.stderr
    outcomes, last = _outcomes(done.stdout)
    assert list(outcomes) == [c.id for c in registry.all_clauses()]
    by = lambda kind: {i for i, (o, _) in outcomes.items() if o == kind}  # noqa: E731
    assert by("FAIL") == PLANTED
    assert by("WARN") == WARNED
    assert by("SKIP") == {"restore.chain-gap.409"}
    assert SUMMARY.fullmatch(last).groups() == (
        str(len(outcomes) - len(PLANTED) - len(WARNED) - 1), str(len(PLANTED)), str(len(WARNED)), "1")
    # Reasons say which request, what was expected and what came back.
    assert "expected 401, got 200" in outcomes["auth.bad-signature.401"][1]
    assert "expected 409, got 200" in outcomes["persist.cursor-gap.409"][1]
    assert "X-WeftKit-Checksum" in outcomes["restore.chain-gzip.200"][1]
    assert all(reason == "" for o, reason in outcomes.values() if o == "PASS")


def test_only_selects_and_json_reports(broken_function):
    done = run_kit(broken_function.endpoint, "--only", "persist.*.409,health.signed", "--json")
    assert done.returncode == 1
    report = json.loads(done.stdout)
    got = {c["id"]: (c["outcome"], c["level"]) for c in report["clauses"]}
    assert got == {"health.signed.200": ("PASS", "contract"),
                   "persist.cursor-gap.409": ("FAIL", "contract"),
                   "persist.delta-without-full.409": ("FAIL", "contract"),
                   "persist.full-behind-head.409": ("WARN", "extension")}
    assert report["summary"] == {"passed": 1, "failed": 2, "warnings": 1, "skipped": 0}
    assert report["ok"] is False


def test_warnings_pass_unless_strict(broken_function):
    lenient = run_kit(broken_function.endpoint, "--only", "restore.point-in-time")
    strict = run_kit(broken_function.endpoint, "--only", "restore.point-in-time", "--strict")
    assert lenient.stdout.startswith("WARN  restore.point-in-time.200")
    assert (lenient.returncode, strict.returncode) == (0, 1)


def test_own_tenant_and_engine(broken_function):
    done = run_kit(broken_function.endpoint, "--only", "persist.full", "--tenant", "acme-ci",
                   "--engine", "vector", "--json")
    report = json.loads(done.stdout)
    assert (report["tenant"], report["engine"], done.returncode) == ("acme-ci", "vector", 0)


def test_unreachable_endpoint_is_a_usage_error():
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    done = run_kit(f"http://127.0.0.1:{port}")
    assert done.returncode == 2 and "cannot reach" in done.stderr and done.stdout == ""


def test_bad_arguments_name_the_option():
    done = run_kit("http://127.0.0.1:9", "--tenant", "../x")
    assert done.returncode == 2 and "--tenant" in done.stderr
    done = run_kit("http://127.0.0.1:9", "--only", "no-such-clause")
    assert done.returncode == 2 and "no clause matches" in done.stderr
    done = run_kit("http://127.0.0.1:9", "--max-payload", "lots")
    assert done.returncode == 2 and "--max-payload" in done.stderr

