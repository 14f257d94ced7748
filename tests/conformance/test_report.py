"""Pure parts of the kit, no I/O: formatting, selection, outcome rules, sizes,
and the runner's isolation of a clause that hangs or raises."""
from __future__ import annotations

import argparse
import asyncio
import re
from pathlib import Path

import pytest
from multidict import CIMultiDict, CIMultiDictProxy

from emulator.conformance import registry, report
from emulator.conformance.client import Reply
from emulator.conformance.command import parse_size
from emulator.conformance.context import Settings
from emulator.conformance.expect import labels
from emulator.conformance.model import (Clause, ClauseFailed, ClauseResult, ClauseSkipped,
                                        ClauseWarning, Level, Outcome, outcome_for)
from emulator.conformance.runner import run_clause

DOC = Path(__file__).resolve().parents[2] / "docs" / "conformance.md"


def result(i, outcome, reason="", level=Level.CONTRACT):
    return ClauseResult(i, f"what {i} checks", level, outcome, reason)


def test_lines_align_ids_and_append_reasons():
    results = [result("a.b.200", Outcome.PASS), result("auth.long-name.401", Outcome.FAIL, "why")]
    assert report.format_lines(results) == [
        "PASS  a.b.200             what a.b.200 checks",
        "FAIL  auth.long-name.401  what auth.long-name.401 checks  — why"]


def test_summary_counts_every_outcome():
    results = [result("p", Outcome.PASS)] * 31 + [result("w", Outcome.WARN)] * 2 + \
        [result("s", Outcome.SKIP)]
    assert report.summary(results) == "conformance: 31 passed, 0 failed, 2 warnings, 1 skipped"
    assert report.summary(results[:1] + [result("w", Outcome.WARN)]) == \
        "conformance: 1 passed, 0 failed, 1 warning, 0 skipped"


@pytest.mark.parametrize("outcomes, strict, status", [
    ([Outcome.PASS, Outcome.SKIP], False, 0),
    ([Outcome.PASS, Outcome.WARN], False, 0),
    ([Outcome.PASS, Outcome.WARN], True, 1),
    ([Outcome.FAIL], False, 1),
])
def test_exit_status(outcomes, strict, status):
    assert report.exit_status([result("x", o) for o in outcomes], strict) == status


def test_json_document():
    doc = report.to_json([result("x.y.200", Outcome.WARN, "r", Level.EXTENSION)], endpoint="http://e",
                         tenant="t", engine="vector", max_payload=5)
    assert doc["ok"] is True and doc["summary"]["warnings"] == 1
    assert doc["clauses"] == [{"id": "x.y.200", "level": "extension", "outcome": "WARN",
                               "description": "what x.y.200 checks", "reason": "r", "seconds": 0.0}]


@pytest.mark.parametrize("level, error, outcome", [
    (Level.CONTRACT, None, Outcome.PASS),
    (Level.CONTRACT, ClauseFailed("x"), Outcome.FAIL),
    (Level.EXTENSION, ClauseFailed("x"), Outcome.WARN),
    (Level.CONTRACT, ClauseWarning("x"), Outcome.WARN),
    (Level.EXTENSION, ClauseSkipped("x"), Outcome.SKIP),
])
def test_outcome_rules(level, error, outcome):
    assert outcome_for(level, error) is outcome


def test_selection_by_prefix_and_glob():
    ids = [c.id for c in registry.select(registry.all_clauses(),
                                         registry.split_patterns(["health", "*.409,auth.expired"]))]
    assert ids[:4] == ["health.signed.200", "health.bad-signature.401",
                       "health.expired-timestamp.401", "health.unsigned.401"]
    assert "auth.expired-timestamp.401" in ids and "persist.cursor-gap.409" in ids
    assert "auth.future-timestamp.401" not in ids and "persist.full.200" not in ids
    assert registry.select(registry.all_clauses(), registry.split_patterns(["nope"])) == []


def test_clause_ids_are_unique_and_well_formed():
    clauses = registry.all_clauses()
    assert len({c.id for c in clauses}) == len(clauses)
    for c in clauses:
        assert re.fullmatch(r"(health|auth|persist|idempotency|restore|instances)\.[a-z0-9-]+\.[a-z0-9-]+", c.id)
        assert "\n" not in c.description


def test_docs_list_every_clause_with_its_level():
    text = DOC.read_text()
    for c in registry.all_clauses():
        assert re.search(rf"`{re.escape(c.id)}` *\| *{c.level.value}", text), c.id


@pytest.mark.parametrize("text, size", [("1048576", 1048576), ("6MB", 6_000_000),
                                        ("100MiB", 100 * 2**20), ("2 kib", 2048)])
def test_sizes(text, size):
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["0", "-1", "lots", "5XB", ""])
def test_bad_sizes(text):
    with pytest.raises(argparse.ArgumentTypeError):
        parse_size(text)


def _reply(status, body):
    return Reply("POST", "/persist", status, CIMultiDictProxy(CIMultiDict()), body, "full →x")


def test_reply_summaries_stay_short_and_printable():
    assert _reply(204, b"").summary() == "204"
    assert _reply(400, b'{"error":\n "x"}').summary() == '400 {"error": "x"}'
    assert _reply(200, bytes(range(256))).summary() == "200 <256 bytes>"
    assert _reply(500, b"a" * 500).summary() == "500 " + "a" * 160 + "…"
    assert _reply(400, b"").request_line == "POST /persist (full →x)"


def test_labels_name_the_payloads_a_body_holds():
    body = b"c i full record 000\nc i full record 001\nc i delta-1 record 000\n"
    assert labels(body) == "[full, delta-1]" and labels(b"\x00junk") == ""


SETTINGS = Settings(endpoint="http://unused", secret="s", tenant="t", timeout=0.2)


async def _hang(ctx):
    await asyncio.sleep(30)


async def _crash(ctx):
    raise KeyError("kit bug")


async def _fails(ctx):
    raise ClauseFailed("expected 409, got 200")


async def test_a_hanging_clause_times_out_alone():
    got = await run_clause(Clause("x.hang.200", "hangs", Level.CONTRACT, _hang), None, SETTINGS)
    assert (got.outcome, got.reason) == (Outcome.FAIL, "no verdict within --timeout 0.2 s")


async def test_a_crashing_clause_is_reported_not_raised():
    got = await run_clause(Clause("x.crash.200", "crashes", Level.CONTRACT, _crash), None, SETTINGS)
    assert got.outcome is Outcome.FAIL and "KeyError" in got.reason


async def test_extension_failures_warn():
    got = await run_clause(Clause("x.ext.409", "ext", Level.EXTENSION, _fails), None, SETTINGS)
    assert (got.outcome, got.reason) == (Outcome.WARN, "expected 409, got 200")


def test_clock_note_names_a_real_offset_only():
    from email.utils import formatdate

    from emulator.conformance.expect import clock_note

    def at(offset):
        headers = CIMultiDictProxy(CIMultiDict({"Date": formatdate(1_700_000_000 + offset, usegmt=True)}))
        return Reply("GET", "/health", 200, headers, b"")
    assert clock_note(at(0), 1_700_000_000.5) == ""
    assert "+30 s" in clock_note(at(30), 1_700_000_000)
    assert clock_note(_reply(200, b""), 1_700_000_000) == ""  # no Date header
