"""What a simulated run costs, by line item, from a dated price table.

Pure: usage and a price table in, a JSON-ready cost section out. No clock, no
I/O (the price file is read by `sim.price_tables`).

The bill has four parts, each priced the way its vendor prices it:

- the function: requests (per million) and compute (seconds x memory GB, plus
  seconds x vCPU where the vendor charges CPU separately, as Cloud Run does);
- the object store: write-class requests (PUT and LIST), read-class requests
  (GET), DELETEs, and storage as GB-months (the integral of stored bytes over
  time);
- transfer out: the bytes the function sends back (restore bodies, answers);
  uploads into the cloud and store-to-function traffic in one region are free
  at every vendor priced here;
- the engines' compute: task-seconds x (vCPU x price + memory GB x price).

"Per month" is the run's usage scaled to a 730-hour month (the month the AWS
and Google pricing calculators use): exact for usage that is steady over the
run, and the closer to it the longer the run. Free tiers, discounts (savings
plans, committed use, spot) and per-task billing minimums are not applied:
these are list prices, stated as such with their date.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

MONTH_S = 730 * 3600.0          # the pricing calculators' month
GB = float(2**30)               # vendors bill storage, memory and transfer in binary GB


@dataclass(frozen=True)
class Usage:
    """What a run used, as the simulator counts it."""
    duration_s: float
    function_requests: int = 0              # invocations billed (a throttled request is not)
    function_seconds: float = 0.0           # billed duration: per request (Lambda) ...
    function_instance_seconds: float = 0.0  # ... or per instance busy (Cloud Run functions)
    bytes_out: int = 0                      # what the function sent back to engines
    store_puts: int = 0
    store_gets: int = 0
    store_lists: int = 0
    store_deletes: int = 0
    stored_gb_months: float = 0.0           # integral of stored bytes over the run, in GB-months
    engine_seconds: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self):
        if not self.duration_s > 0:
            raise ValueError(f"a run's usage needs a positive duration, got {self.duration_s!r}")


@dataclass(frozen=True)
class Size:
    vcpu: float
    memory_gb: float


@dataclass(frozen=True)
class FunctionPrices:
    service: str
    source: str
    per_million_requests: float
    per_gb_second: float
    per_vcpu_second: float
    memory_gb: float            # the function's configured memory
    vcpu: float                 # its vCPU where billed separately (0 where CPU comes with memory)
    billing: str                # "per-request": sum of request durations; "per-instance": busy instance time


@dataclass(frozen=True)
class StorePrices:
    service: str
    source: str
    per_gb_month: float
    per_1000_writes: float      # PUT, COPY, POST and LIST (S3's and GCS's class A)
    per_1000_reads: float       # GET (class B)
    per_1000_deletes: float


@dataclass(frozen=True)
class TransferPrices:
    source: str
    out_per_gb: float


@dataclass(frozen=True)
class EnginePrices:
    service: str
    source: str
    per_vcpu_second: float
    per_gb_second: float
    size: Size                                   # every kind's task size ...
    kinds: Mapping[str, Size] = field(default_factory=lambda: MappingProxyType({}))  # ... unless overridden

    def size_of(self, kind: str) -> Size:
        return self.kinds.get(kind, self.size)


@dataclass(frozen=True)
class PriceTable:
    name: str
    provider: str
    region: str
    currency: str
    as_of: str                  # the date the prices were taken from their sources
    note: str
    function: FunctionPrices
    store: StorePrices
    transfer: TransferPrices
    engines: EnginePrices
    source: str = ""            # the file it came from


@dataclass(frozen=True)
class LineItem:
    part: str                   # function | store | transfer | engines
    item: str
    quantity: float             # over the run, in `unit`s
    unit: str
    unit_price: float

    @property
    def run_cost(self) -> float:
        return self.quantity * self.unit_price


# ---- usage from the simulator's counts ------------------------------------------------------
UNBILLED_STATUSES = ("429", "dropped")   # a throttled request and a dropped connection never ran


def usage_from_counts(counts: Mapping) -> Usage:
    """`SimRun.counts` (sim/runner.py) as billed usage.

    Requests: every request the function answered, except throttled ones (429: the
    platform refuses them before the function runs, and does not bill them) and
    connections an outage dropped. Compute: the function's busy-seconds (the sum of
    request durations; also used for per-instance billing, which equals it at one
    request per instance). Storage: the simulator's byte-seconds (given in decimal
    GB over 30-day months) restated in binary GB over the 730-hour month.
    """
    billed = sum(n for key, n in counts["requests"].items() if key.rsplit(" ", 1)[-1] not in UNBILLED_STATUSES)
    calls = counts.get("store_calls", {})
    byte_seconds = counts.get("store_gb_months", 0.0) * 1e9 * 30 * 86400
    busy = float(counts.get("function_busy_s", 0.0))
    return Usage(duration_s=float(counts["duration_s"]), function_requests=billed, function_seconds=busy,
                 function_instance_seconds=busy, bytes_out=int(sum(counts.get("bytes_out", {}).values())),
                 store_puts=calls.get("PUT", 0), store_gets=calls.get("GET", 0) + calls.get("HEAD", 0),
                 store_lists=calls.get("LIST", 0), store_deletes=calls.get("DELETE", 0),
                 stored_gb_months=byte_seconds / GB / MONTH_S,
                 engine_seconds=MappingProxyType(dict(counts.get("engine_seconds", {}))))


# ---- pricing ---------------------------------------------------------------------------
def line_items(usage: Usage, prices: PriceTable) -> list[LineItem]:
    """Every billed quantity of the run with its unit price, in bill order."""
    f, s, t, e = prices.function, prices.store, prices.transfer, prices.engines
    billed_s = usage.function_seconds if f.billing == "per-request" else usage.function_instance_seconds
    items = [
        LineItem("function", "requests", usage.function_requests / 1e6, "million requests",
                 f.per_million_requests),
        LineItem("function", "compute (memory)", billed_s * f.memory_gb, "GB-seconds", f.per_gb_second),
    ]
    if f.per_vcpu_second:
        items.append(LineItem("function", "compute (vCPU)", billed_s * f.vcpu, "vCPU-seconds",
                              f.per_vcpu_second))
    items += [
        LineItem("store", "PUT and LIST requests", (usage.store_puts + usage.store_lists) / 1000,
                 "thousand requests", s.per_1000_writes),
        LineItem("store", "GET requests", usage.store_gets / 1000, "thousand requests", s.per_1000_reads),
        LineItem("store", "DELETE requests", usage.store_deletes / 1000, "thousand requests",
                 s.per_1000_deletes),
        LineItem("store", "storage", usage.stored_gb_months, "GB-months", s.per_gb_month),
        LineItem("transfer", "out of the function", usage.bytes_out / GB, "GB", t.out_per_gb),
    ]
    vcpu_s = sum(sec * e.size_of(kind).vcpu for kind, sec in usage.engine_seconds.items())
    gb_s = sum(sec * e.size_of(kind).memory_gb for kind, sec in usage.engine_seconds.items())
    items += [LineItem("engines", "compute (vCPU)", vcpu_s, "vCPU-seconds", e.per_vcpu_second),
              LineItem("engines", "compute (memory)", gb_s, "GB-seconds", e.per_gb_second)]
    return items


def _money(x: float) -> float:
    # Rounded so that a report is byte-identical across platforms' float printing.
    return round(x, 6)


def cost_section(usage: Usage, prices: PriceTable) -> dict:
    """The report's cost section: each line item for the run and per month, by part, and totals."""
    scale = MONTH_S / usage.duration_s
    items = line_items(usage, prices)
    by_part: dict[str, float] = {}
    for it in items:
        by_part[it.part] = by_part.get(it.part, 0.0) + it.run_cost
    engines_by_kind = {kind: _money(scale * sec * (prices.engines.size_of(kind).vcpu * prices.engines.per_vcpu_second
                                                   + prices.engines.size_of(kind).memory_gb
                                                   * prices.engines.per_gb_second))
                       for kind, sec in sorted(usage.engine_seconds.items())}
    total = sum(it.run_cost for it in items)
    return {
        "prices": {"name": prices.name, "provider": prices.provider, "region": prices.region,
                   "currency": prices.currency, "as_of": prices.as_of, "note": prices.note,
                   "file": prices.source,
                   "services": {"function": prices.function.service, "store": prices.store.service,
                                "engines": prices.engines.service}},
        "assumptions": {"function_memory_gb": prices.function.memory_gb,
                        "function_billing": prices.function.billing,
                        "engine_size": {"vcpu": prices.engines.size.vcpu,
                                        "memory_gb": prices.engines.size.memory_gb},
                        "engine_sizes_by_kind": {k: {"vcpu": v.vcpu, "memory_gb": v.memory_gb}
                                                 for k, v in sorted(prices.engines.kinds.items())}},
        "run_s": usage.duration_s,
        "month_s": MONTH_S,
        "month_scale": round(scale, 9),
        "items": [{"part": it.part, "item": it.item, "quantity": round(it.quantity, 9), "unit": it.unit,
                   "unit_price": it.unit_price, "run": _money(it.run_cost),
                   "month": _money(it.run_cost * scale)} for it in items],
        "by_part_month": {part: _money(v * scale) for part, v in by_part.items()},
        "engines_by_kind_month": engines_by_kind,
        "total_run": _money(total),
        "total_month": _money(total * scale),
    }


def summary_lines(section: dict) -> list[str]:
    """The cost section for people: one line per part, the total, and where the prices come from."""
    p, cur = section["prices"], section["prices"]["currency"]
    lines = [f"cost per month ({p['name']}, list prices as of {p['as_of']}, {cur}; "
             f"the run scaled x{section['month_scale']:.4g} to 730 h):"]
    for it in section["items"]:
        if it["month"] or it["quantity"]:
            lines.append(f"  {it['part']:<9} {it['item']:<22} {it['month']:>12.2f}  "
                         f"({it['quantity'] * section['month_scale']:.4g} {it['unit']} x {it['unit_price']:g})")
    lines.append(f"  {'total':<32} {section['total_month']:>12.2f}  (this run: {section['total_run']:.4f})")
    return lines
