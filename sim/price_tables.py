"""Price tables: a TOML file in, a `PriceTable` out, or PriceFileError naming the file and the key.

The shipped tables are `sim/prices/NAME.toml`; `--prices` takes one of those
names or any file of the same shape (docs/sim.md, "Cost"). Each price is
written in the unit its vendor publishes (Fargate per hour, Cloud Run per
second), so that a table can be checked against its source by eye; the
loader converts to per second.
"""
from __future__ import annotations

import tomllib
from pathlib import Path
from types import MappingProxyType

from .costs import EnginePrices, FunctionPrices, PriceTable, Size, StorePrices, TransferPrices

PRICES_DIR = Path(__file__).resolve().parent / "prices"
DEFAULT_PRICES = "aws-us-east-1"

_TABLES = {
    "prices": {"name": str, "provider": str, "region": str, "currency": str, "as_of": str, "note": str},
    "function": {"service": str, "source": str, "per_million_requests": float, "per_gb_second": float,
                 "per_vcpu_second": float, "memory_mb": float, "vcpu": float, "billing": str},
    "store": {"service": str, "source": str, "per_gb_month": float, "per_1000_writes": float,
              "per_1000_reads": float, "per_1000_deletes": float},
    "transfer": {"source": str, "out_per_gb": float},
    "engines": {"service": str, "source": str, "per_vcpu_hour": float, "per_gb_hour": float,
                "per_vcpu_second": float, "per_gb_second": float, "vcpu": float, "memory_gb": float,
                "kinds": dict},
}
_OPTIONAL = {"function": {"per_vcpu_second", "vcpu"}, "prices": {"note"},
             "engines": {"per_vcpu_hour", "per_gb_hour", "per_vcpu_second", "per_gb_second", "kinds"}}
BILLING = ("per-request", "per-instance")


class PriceFileError(ValueError):
    def __init__(self, source: str, key: str, message: str):
        super().__init__(f"{source}: {key}: {message}" if key else f"{source}: {message}")
        self.source, self.key = source, key


def shipped() -> list[str]:
    return sorted(p.stem for p in PRICES_DIR.glob("*.toml"))


def resolve(name_or_path: str) -> Path:
    """A file as given, else a shipped table by name."""
    path = Path(name_or_path)
    if path.is_file():
        return path
    candidate = PRICES_DIR / f"{name_or_path}.toml"
    if "/" not in name_or_path and candidate.is_file():
        return candidate
    raise PriceFileError(name_or_path, "", "no such price file, and no shipped table of that name "
                         f"(shipped: {', '.join(shipped())})")


def load_prices(name_or_path: str) -> PriceTable:
    path = resolve(name_or_path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise PriceFileError(str(path), "", f"cannot read: {exc.strerror}") from None
    # a shipped table is named by its place in the package, so reports carry no machine path
    shipped_table = path.resolve().parent == PRICES_DIR
    return parse_prices(text, f"sim/prices/{path.name}" if shipped_table else str(path))


def parse_prices(text: str, source: str = "prices.toml") -> PriceTable:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PriceFileError(source, "", f"not valid TOML: {exc}") from None
    for table in data:
        if table not in _TABLES:
            raise PriceFileError(source, table, f"unknown table; a price file has {', '.join(_TABLES)}")
    t = {name: _table(source, name, data.get(name)) for name in _TABLES}
    f, s, e = t["function"], t["store"], t["engines"]
    if f["billing"] not in BILLING:
        raise PriceFileError(source, "function.billing", f"must be one of {', '.join(BILLING)}, "
                             f"got {f['billing']!r}")
    return PriceTable(
        t["prices"]["name"], t["prices"]["provider"], t["prices"]["region"], t["prices"]["currency"],
        t["prices"]["as_of"], t["prices"].get("note", ""),
        FunctionPrices(f["service"], f["source"], f["per_million_requests"], f["per_gb_second"],
                       f.get("per_vcpu_second", 0.0), f["memory_mb"] / 1024, f.get("vcpu", 0.0), f["billing"]),
        StorePrices(s["service"], s["source"], s["per_gb_month"], s["per_1000_writes"], s["per_1000_reads"],
                    s["per_1000_deletes"]),
        TransferPrices(t["transfer"]["source"], t["transfer"]["out_per_gb"]),
        EnginePrices(e["service"], e["source"], _per_second(source, e, "vcpu"), _per_second(source, e, "gb"),
                     Size(e["vcpu"], e["memory_gb"]), MappingProxyType(_kinds(source, e.get("kinds", {})))),
        source)


def _table(source: str, name: str, table) -> dict:
    if not isinstance(table, dict):
        raise PriceFileError(source, name, f"missing table [{name}]")
    keys = _TABLES[name]
    for key, value in table.items():
        where = f"{name}.{key}"
        if key not in keys:
            raise PriceFileError(source, where, f"unknown key; [{name}] has {', '.join(keys)}")
        if keys[key] is float:
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise PriceFileError(source, where, f"must be a number >= 0, got {value!r}")
        elif not isinstance(value, keys[key]):
            raise PriceFileError(source, where, f"must be a {keys[key].__name__}, got {value!r}")
    for key in keys:
        if key not in table and key not in _OPTIONAL.get(name, ()):
            raise PriceFileError(source, f"{name}.{key}", "is missing")
    return {k: float(v) if keys[k] is float else v for k, v in table.items()}


def _per_second(source: str, engines: dict, what: str) -> float:
    hourly, per_s = engines.get(f"per_{what}_hour"), engines.get(f"per_{what}_second")
    if (hourly is None) == (per_s is None):
        raise PriceFileError(source, f"engines.per_{what}_hour",
                             f"give the engines' {'vCPU' if what == 'vcpu' else 'memory'} price once: "
                             f"per_{what}_hour or per_{what}_second")
    return per_s if per_s is not None else hourly / 3600


def _kinds(source: str, kinds: dict) -> dict[str, Size]:
    out = {}
    for kind, size in kinds.items():
        where = f"engines.kinds.{kind}"
        if not isinstance(size, dict) or set(size) != {"vcpu", "memory_gb"}:
            raise PriceFileError(source, where, "must be a table with vcpu and memory_gb")
        for key, value in size.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise PriceFileError(source, f"{where}.{key}", f"must be a number > 0, got {value!r}")
        out[kind] = Size(float(size["vcpu"]), float(size["memory_gb"]))
    return out
