"""The TUI's pure parts, without a terminal: the fleet model, cells, rates and
percentiles, dialog bodies, ledger lines, the balancer view."""
from __future__ import annotations

import pytest

from emulator.tui.detail import ledger_lines, push_series
from emulator.tui.dialogs import fault_spec
from emulator.tui.discovery_view import balancer_view
from emulator.tui.events_view import event_line, matches
from emulator.tui.format import (age, histogram, push_cell, quantile, rates, request_totals, row_cells,
                                 size, summary_line)
from emulator.tui.function_view import function_rows
from emulator.tui.model import FleetModel, lag
from emulator.tui.store_browser import instance_label, object_label

ROW = {"name": "vector-1", "kind": "vector", "state": "running", "pid": 10, "port": 4000,
       "instance_id": "vector-1", "cursor": "wkc_0000_0010", "lsn": 12, "durable_lsn": 10,
       "last_push": {"at": 100.0, "kind": "delta", "status": 200, "bytes": 900},
       "buffered_bytes": 0, "boot": {"how": "restored"}, "discovery": {"registered": True}}


def test_ages_and_sizes_read_like_a_person_would_say_them():
    assert [age(s) for s in (None, -1, 4.9, 61, 7200, 90000)] == ["-", "0s", "4s", "1m", "2h", "1d"]
    assert [size(n) for n in (None, 512, 1536, 3 * 1024 * 1024)] == ["-", "512 B", "1.5 KiB", "3.0 MiB"]
    assert push_cell(ROW["last_push"], now=103.0) == "3s delta 200"
    assert push_cell(None, now=0) == "-"


def test_a_row_has_every_column_and_colours_its_state():
    cells = row_cells(ROW, now=105.0, alerts=2, marked=True)
    assert cells[0] == "● vector-1" and str(cells[2]) == "running" and cells[2].style == "green"
    assert cells[7] == "12/10" and cells[8] == "2" and cells[9] == "5s delta 200"
    assert cells[11] == "restored" and cells[12] == "registered" and str(cells[13]) == "2"
    assert lag({"lsn": 3}) is None


def test_events_update_the_row_they_name_and_say_which_changed():
    model = FleetModel()
    assert model.apply_fleet([ROW]) == {"vector-1"}
    assert model.apply_fleet([dict(ROW)]) == set()  # nothing changed: nothing to repaint
    assert model.apply_event({"kind": "engine.stopping", "subject": "vector-1"}) == {"vector-1"}
    assert model.rows["vector-1"]["state"] == "stopping"
    changed = model.apply_event({"kind": "engine.pushed", "subject": "vector-1", "at": 200.0,
                                 "data": {"snapshot": "full", "status": 200, "cursor": "c2", "durable_lsn": 12}})
    assert changed == {"vector-1"} and model.rows["vector-1"]["durable_lsn"] == 12
    model.apply_event({"kind": "engine.push_failed", "subject": "vector-1", "data": {"status": 503}})
    assert model.alerts["vector-1"] == 1
    model.apply_event({"kind": "engine.alert", "subject": "vector-1", "data": {"alert": "auth"}})
    assert model.rows["vector-1"]["alerts"] == 1 and row_cells(model.rows["vector-1"], 0, 1)[13].plain == "2"
    assert model.apply_event({"kind": "engine.started", "subject": "ghost-1"}) == set()  # unknown row
    assert model.apply_event({"kind": "engine.starting", "subject": "graph-1"}) == {"graph-1"}
    assert model.apply_event({"kind": "fleet.scaled", "subject": "graph",
                              "data": {"stopped": ["graph-1"]}}) == {"graph-1"}
    assert "graph-1" not in model.rows


def test_filter_and_sort_pick_and_order_the_rows():
    model = FleetModel()
    rows = [dict(ROW, name=f"vector-{i}", lsn=10 + i) for i in (1, 2, 10)]
    rows.append(dict(ROW, name="graph-1", kind="graph", state="crashed", lsn=10))
    model.apply_fleet(rows)
    assert model.names() == ["graph-1", "vector-1", "vector-2", "vector-10"]  # ordinals, not text
    assert model.names("crash") == ["graph-1"]
    assert model.names("VECTOR", sort="lag") == ["vector-10", "vector-2", "vector-1"]


def test_summary_counts_states_and_services():
    line = summary_line({"a-1": {"state": "running"}, "a-2": {"state": "crashed"}},
                        {"status": "degraded", "services": {"store": "running"}})
    assert line == "degraded · 2 engines: 1 crashed, 1 running · store running"


METRICS = """wkp_function_latency_seconds_bucket{path="/persist",le="0.005"} 50
wkp_function_latency_seconds_bucket{path="/persist",le="0.1"} 99
wkp_function_latency_seconds_bucket{path="/persist",le="+Inf"} 100
"""


def test_rates_and_percentiles_of_the_function():
    before = request_totals({"/persist": {"requests": {"200": 10}}})
    after = request_totals({"/persist": {"requests": {"200": 30, "503": 2}}})
    assert rates(before, after, 2.0) == {("/persist", "200"): 10.0, ("/persist", "503"): 1.0}
    buckets = histogram(METRICS)["/persist"]
    assert quantile(buckets, 0.5) == 0.005 and quantile(buckets, 0.99) == 0.1
    assert quantile([], 0.5) is None
    rows = function_rows({"/persist": {"requests": {"200": 30}, "bytes_in": 2048, "bytes_out": 0}},
                         {("/persist", "200"): 10.0}, METRICS)
    assert rows == [("/persist", "200", "10.0", "30", "5 ms", "100 ms", "2.0 KiB", "0 B")]


@pytest.mark.parametrize("label,fields,expected", [
    ("function error", {"status": "503", "count": "3", "paths": "/persist, /restore", "rate": ""},
     {"target": "function", "kind": "error", "status": 503, "count": 3, "paths": ["/persist", "/restore"]}),
    ("store latency", {"ms": "200", "jitter_ms": "", "rate": "0.5"},
     {"target": "store", "kind": "latency", "ms": 200, "rate": 0.5}),
    ("engine clock skew", {"engine": "vector-1", "clock_skew_s": "-400"},
     {"target": "engine", "engine": "vector-1", "clock_skew_s": -400}),
    ("discovery network", {"loss": "0.3", "isolate": "vector-1"},
     {"target": "discovery", "loss": 0.3, "isolate": ["vector-1"]}),
    ("function error", {"status": "five"}, {"target": "function", "kind": "error", "status": "five"}),
])
def test_the_fault_dialog_builds_the_control_api_body(label, fields, expected):
    assert fault_spec(label, fields) == expected


def test_ledger_lines_and_push_sizes():
    entries = [{"event": "boot", "at": 90.0, "how": "fresh"},
               {"event": "ack", "at": 95.0, "kind": "full", "bytes": 100, "cursor_to": "c1"},
               {"event": "ack", "at": 99.0, "kind": "delta", "bytes": 40, "cursor_to": "c2"}]
    assert push_series(entries) == [100.0, 40.0]
    lines = ledger_lines(entries, now=100.0)
    assert lines[0].startswith(" 10s boot") and "bytes=40" in lines[2] and lines[2].startswith("  1s ack     ")


def test_the_balancer_routes_to_alive_members_only():
    members = [{"node_id": "v-1", "status": "alive", "groups": ["vector"], "endpoint": "h:1"},
               {"node_id": "v-2", "status": "suspect", "groups": ["vector"], "endpoint": "h:2"},
               {"node_id": "g-1", "status": "failed", "groups": ["graph"], "endpoint": "h:3"}]
    assert balancer_view(members) == {"graph": [], "vector": ["h:1"]}


def test_event_lines_and_their_filter():
    line = event_line({"kind": "engine.pushed", "subject": "vector-1", "at": 0,
                       "data": {"status": 200, "empty": None}})
    assert line.startswith("00:00:00 engine.pushed") and "status=200" in line and "empty" not in line
    assert matches(line, "VECTOR") and not matches(line, "graph") and matches(line, "")


def test_store_instance_label():
    label = instance_label("vector-1", {"fulls": 1, "deltas": 3, "bytes": 2048, "head": "c9",
                                        "last_stored_at": 90.0, "claimed": True}, now=100.0)
    assert label == "vector-1  1 full + 3 delta, 2.0 KiB, head c9, 10s ago, [yellow]claimed[/yellow]"


def test_store_object_label():
    delta = {"kind": "delta", "cursor_from": "c1", "cursor_to": "c2", "size": 1536, "encoding": "zstd",
             "part": [2, 3], "stored_at": 96.0}
    assert object_label(delta, now=100.0) == "delta  c1 -> c2  1.5 KiB  zstd  part 2/3  4s ago"
    assert object_label({"kind": "other", "key": "k/claim", "size": 2}, now=1.0) == "other  k/claim  2 B    - ago"


def test_discovery_verdict_wins_over_the_engine_own_word():
    model = FleetModel()
    model.apply_fleet([ROW])
    assert model.apply_members([{"node_id": "vector-1", "status": "suspect"}]) == {"vector-1"}
    assert model.apply_members([{"node_id": "vector-1", "status": "suspect"}]) == set()
    cell = row_cells(ROW, 100.0, member=model.member_status("vector-1"))[12]
    assert str(cell) == "suspect" and cell.style == "yellow"
    assert row_cells(dict(ROW, discovery={"registered": False}), 100.0)[12] == "joining"


def _scan(model, text, sort):
    """The filter as a full scan of the fleet (what the model's cached answers must equal)."""
    text = text.lower()
    rows = [r for r in model.rows.values()
            if any(text in str(r.get(k, "")).lower() for k in ("name", "kind", "state"))]
    from emulator.tui.model import _SORT_KEYS
    return [r["name"] for r in sorted(rows, key=_SORT_KEYS[sort])]


def test_a_filter_typed_letter_by_letter_and_deleted_shows_what_a_full_scan_shows():
    model = FleetModel()
    kinds = ("vector", "graph", "relational", "cache")
    model.apply_fleet([dict(ROW, name=f"{kinds[i % 4]}-{i}", kind=kinds[i % 4], lsn=i % 7,
                            state=("running", "crashed", "starting")[i % 3]) for i in range(1, 200)])
    for sort in ("name", "lag", "state"):
        for word in ("vector-1", "run", "crashed", "gr", "zz"):
            typed = [word[:n] for n in range(len(word) + 1)]
            for text in typed + typed[::-1]:  # typing, then deleting letter by letter
                assert model.names(text, sort) == _scan(model, text, sort), (sort, text)
    before = model.names("crash")
    model.apply_event({"kind": "engine.crashed", "subject": "vector-12", "data": {}})  # the fleet changed
    assert "vector-12" in model.names("crash") and "vector-12" not in before
    assert model.names("crash") == _scan(model, "crash", "name")


def test_a_row_cells_apart_from_the_clock_and_the_age_put_in_front():
    from emulator.tui.fleet_table import cell_widths, line_segments, with_age
    from emulator.tui.format import AGE_WIDTH, PUSH, push_age, still_cells
    cells = still_cells(ROW, alerts=2, marked=True)
    assert cells[PUSH] == "delta 200" and cells[:PUSH] == row_cells(ROW, 105.0, 2, True)[:PUSH]
    shown = with_age(cells, push_age(ROW["last_push"], 105.0))
    assert shown[PUSH] == "  5s delta 200" and shown[PUSH].strip() == row_cells(ROW, 105.0)[PUSH]
    assert cell_widths(cells)[PUSH] == len("delta 200") + AGE_WIDTH + 1
    assert with_age(still_cells(dict(ROW, last_push=None)), None)[PUSH] == "-"
    line = "".join(s.text for s in line_segments(shown, list(cell_widths(cells))))
    assert line.startswith(" ● vector-1  vector  running") and "  5s delta 200" in line
    styled = [s for s in line_segments(shown, list(cell_widths(cells))) if s.style]
    assert [s.text for s in styled] == ["running", "2"]  # the rest runs together, unstyled


def test_full_collections_follow_python_rule_but_wait_for_a_quiet_keyboard():
    from emulator.tui.collector import AT_LATEST_S, IDLE_S, full_collection_due
    grown, same = (1300, 1000), (1100, 1000)  # old objects now, after the last full collection
    assert full_collection_due(100.0, 100.0 - IDLE_S, 0.0, *grown)
    assert not full_collection_due(100.0, 99.9, 0.0, *grown)  # typing: later
    assert not full_collection_due(100.0, 0.0, 0.0, *same)  # not grown by a quarter: not needed
    assert full_collection_due(AT_LATEST_S, AT_LATEST_S, 0.0, *same)  # at the latest, keys or not


def _lambda_view() -> dict:
    """The function view's `platform` under --profile lambda-url, as the function builds it."""
    from emulator.function.config import FunctionConfig, Limits, apply_profile, platform_view
    limits, settings, platform = apply_profile("lambda-url", limits=Limits())
    return platform_view(FunctionConfig(secret="s", s3_endpoint="http://127.0.0.1:1", limits=limits,
                                        instances=settings, platform=platform))


INSTANCES = {"live": 2, "busy": 1, "inflight": 1, "cold_starts": 2, "warm_hits": 1, "throttles": 3,
             "reaped": 0, "settings": {"instances_max": 1000, "instance_concurrency": 1,
                                       "keep_alive_s": 600.0, "cold_start_ms": 250},
             "instances": [{"id": "i-1", "inflight": 1, "invocations": 2, "idle_s": None},
                           {"id": "i-2", "inflight": 0, "invocations": 1, "idle_s": 12.345, "pid": 4242}]}


def test_the_function_screen_shows_instances_and_the_platform_profile():
    from emulator.tui.format import instance_lines
    lines = instance_lines({"instances": INSTANCES, "platform": _lambda_view()})
    assert lines[:3] == [
        "2 live, 1 busy (max 1000 x 1): 2 cold starts, 1 warm hit, 3 throttles, 0 reaped",
        "  i-1  inflight 1  invocations 2  idle -",
        "  i-2  inflight 0  invocations 1  idle 12.3 s  pid 4242"]
    assert lines[3] == ("platform lambda-url: payload 6 MiB, response 200 MiB, stream 2 MiB/s after 6 MiB, "
                        "timeout 900 s")
    assert any("push" in line for line in lines[4:]) and any("restore" in line for line in lines[4:])
    # no profile (today's function): the counters only; no view at all: said so
    assert instance_lines({"instances": INSTANCES, "platform": {"profile": None, "fit": []}})[3:] == []
    assert instance_lines({}) == ["no instance view (the function is not up yet)"]
    # `up --function lambda`: its stand-in's instances (each a process) and the profile by name
    standin = instance_lines({"instances": dict(INSTANCES, instances=INSTANCES["instances"][1:]),
                              "platform": {"target": "lambda", "profile": "lambda-url"}})
    assert standin[1:] == ["  i-2  inflight 0  invocations 1  idle 12.3 s  pid 4242",
                           "platform lambda-url (target lambda)"]


def test_status_prints_the_instances_within_80_columns():
    from emulator.api.tables import function_lines
    busy = dict(INSTANCES, live=1000, busy=999, cold_starts=123456, warm_hits=9876543, throttles=42, reaped=77)
    lines = function_lines({"instances": busy, "platform": _lambda_view()})
    assert all(len(line) <= 80 for line in lines), lines
    assert lines[:2] == ["function instances: 1000 live, 999 busy (max 1000 x 1)",
                         "  123456 cold starts, 9876543 warm hits, 42 throttles, 77 reaped"]
    assert lines[-1].startswith("  ")  # the platform line's continuation is indented
    assert any(line.startswith("platform lambda-url: payload 6 MiB") for line in lines)
    assert function_lines({}) == []  # the function is not up: status shows the rest
