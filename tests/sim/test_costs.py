"""Costs of a simulated run: line items priced by hand-checkable arithmetic, price files with clear errors."""
from __future__ import annotations

import pytest

from sim.costs import GB, MONTH_S, Usage, cost_section, line_items, summary_lines
from sim.price_tables import PriceFileError, load_prices, parse_prices, shipped

TABLE = '''\
[prices]
name = "test"
provider = "Test"
region = "r1"
currency = "USD"
as_of = "2026-01-01"

[function]
service = "fn"
source = "https://example.invalid/fn"
per_million_requests = 0.20
per_gb_second = 0.00001
memory_mb = 2048
billing = "per-request"

[store]
service = "store"
source = "https://example.invalid/store"
per_gb_month = 0.02
per_1000_writes = 0.005
per_1000_reads = 0.0004
per_1000_deletes = 0.0

[transfer]
source = "https://example.invalid/net"
out_per_gb = 0.1

[engines]
service = "tasks"
source = "https://example.invalid/tasks"
per_vcpu_hour = 0.036
per_gb_hour = 0.0036
vcpu = 0.5
memory_gb = 1.0
[engines.kinds.vector]
vcpu = 2
memory_gb = 4
'''


def month_of(section, part, item):
    return next(i["month"] for i in section["items"] if i["part"] == part and i["item"] == item)


def test_each_line_item_is_quantity_times_list_price_scaled_to_a_730_hour_month():
    prices = parse_prices(TABLE, "t.toml")
    usage = Usage(duration_s=MONTH_S / 10, function_requests=1_000_000, function_seconds=500.0,
                  bytes_out=3 * int(GB), store_puts=8000, store_lists=2000, store_gets=5000,
                  store_deletes=7, stored_gb_months=1.5,
                  engine_seconds={"relational": 3600.0, "vector": 3600.0})
    s = cost_section(usage, prices)
    assert s["month_scale"] == 10
    assert month_of(s, "function", "requests") == pytest.approx(2.0)          # 1 M x 0.20 x 10
    assert month_of(s, "function", "compute (memory)") == pytest.approx(0.1)  # 500 s x 2 GB x 1e-5 x 10
    assert month_of(s, "store", "PUT and LIST requests") == pytest.approx(0.5)  # 10 k x 0.005 x 10
    assert month_of(s, "store", "GET requests") == pytest.approx(0.02)
    assert month_of(s, "store", "DELETE requests") == 0
    assert month_of(s, "store", "storage") == pytest.approx(0.3)               # 1.5 GB-months x 0.02 x 10
    assert month_of(s, "transfer", "out of the function") == pytest.approx(3.0)  # 3 GB x 0.1 x 10
    # relational at the default size, vector at its own: (0.5 + 2) vCPU-hours, (1 + 4) GB-hours
    assert month_of(s, "engines", "compute (vCPU)") == pytest.approx(2.5 * 0.036 * 10)
    assert month_of(s, "engines", "compute (memory)") == pytest.approx(5 * 0.0036 * 10)
    assert s["engines_by_kind_month"] == {"relational": pytest.approx((0.5 * 0.036 + 0.0036) * 10),
                                          "vector": pytest.approx((2 * 0.036 + 4 * 0.0036) * 10)}
    assert s["total_month"] == pytest.approx(sum(i["month"] for i in s["items"]), abs=1e-5)
    assert s["total_run"] == pytest.approx(s["total_month"] / 10, abs=1e-5)
    assert set(s["by_part_month"]) == {"function", "store", "transfer", "engines"}
    assert s["prices"]["as_of"] == "2026-01-01"


def test_per_instance_billing_uses_instance_busy_time_and_charges_vcpu_when_priced():
    text = TABLE.replace('billing = "per-request"', 'billing = "per-instance"\nper_vcpu_second = 0.00002\nvcpu = 1')
    prices = parse_prices(text)
    usage = Usage(duration_s=100, function_requests=10, function_seconds=99.0, function_instance_seconds=4.0)
    items = {(i.part, i.item): i for i in line_items(usage, prices)}
    assert items["function", "compute (memory)"].quantity == pytest.approx(8.0)   # 4 s x 2 GB
    assert items["function", "compute (vCPU)"].quantity == pytest.approx(4.0)


def test_a_run_without_usage_costs_nothing_and_the_summary_says_where_prices_come_from():
    s = cost_section(Usage(duration_s=30), parse_prices(TABLE))
    assert s["total_month"] == 0
    text = "\n".join(summary_lines(s))
    assert "list prices as of 2026-01-01" in text and "total" in text


def test_usage_needs_a_positive_duration():
    with pytest.raises(ValueError, match="positive duration"):
        Usage(duration_s=0)


@pytest.mark.parametrize("name", shipped())
def test_shipped_tables_load_dated_and_sourced(name):
    p = load_prices(name)
    assert p.name == name and len(p.as_of) == 10 and p.currency == "USD"
    for part in (p.function, p.store, p.engines):
        assert part.source.startswith("https://")
    assert p.engines.per_vcpu_second > 0 and p.function.per_million_requests > 0


def test_the_shipped_tables_include_aws_and_google_cloud():
    assert {"aws-us-east-1", "gcp-us-central1"} <= set(shipped())


def test_fargate_prices_are_converted_from_per_hour():
    p = load_prices("aws-us-east-1")
    assert p.engines.per_vcpu_second == pytest.approx(0.04048 / 3600)


@pytest.mark.parametrize("change, expected", [
    (("per_gb_month = 0.02", "per_gb_month = -1"), "t.toml: store.per_gb_month: must be a number >= 0, got -1"),
    (("per_gb_month = 0.02", "per_gb_month = \"cheap\""), "store.per_gb_month: must be a number >= 0"),
    (("per_gb_month = 0.02\n", ""), "t.toml: store.per_gb_month: is missing"),
    (('billing = "per-request"', 'billing = "monthly"'), "function.billing: must be one of per-request"),
    (("[transfer]", "[nonsense]\n[transfer]"), "nonsense: unknown table"),
    (("out_per_gb = 0.1", "out_per_gb = 0.1\negress = 2"), "transfer.egress: unknown key"),
    (("per_gb_hour = 0.0036", "per_gb_hour = 0.0036\nper_gb_second = 1"),
     "engines.per_gb_hour: give the engines' memory price once"),
    (("vcpu = 2\n", "vcpu = 0\n"), "engines.kinds.vector.vcpu: must be a number > 0"),
    (("[prices]", "[prices"), "not valid TOML"),
])
def test_bad_price_files_are_refused_naming_the_key(change, expected):
    with pytest.raises(PriceFileError) as info:
        parse_prices(TABLE.replace(*change), "t.toml")
    assert expected in str(info.value)


def test_an_unknown_price_table_name_lists_the_shipped_ones(tmp_path):
    with pytest.raises(PriceFileError, match="shipped: aws-us-east-1"):
        load_prices("moon-base-1")
    own = tmp_path / "mine.toml"
    own.write_text(TABLE)
    assert load_prices(str(own)).name == "test"


def test_simulator_counts_become_billed_usage():
    from sim.costs import usage_from_counts
    counts = {"duration_s": 600.0,
              "requests": {"/persist 200": 10, "/persist 429": 4, "/persist dropped": 2, "/restore 200": 1,
                           "/persist 409": 1},
              "bytes_in": {"/persist": 5000}, "bytes_out": {"/persist": 640, "/restore": 2000},
              "store_calls": {"PUT": 10, "GET": 3, "LIST": 2, "HEAD": 1, "DELETE": 0},
              "store_gb_months": 2.0, "engine_seconds": {"vector": 1200.0}, "function_busy_s": 1.5}
    u = usage_from_counts(counts)
    assert u.function_requests == 12            # 429s and dropped connections are not billed
    assert u.bytes_out == 2640 and u.store_puts == 10 and u.store_gets == 4 and u.store_lists == 2
    assert u.stored_gb_months == pytest.approx(2.0 * 1e9 * 30 * 86400 / GB / MONTH_S)
    assert u.engine_seconds == {"vector": 1200.0} and u.function_seconds == 1.5
