"""Readable tables for `wkp-emu status` and `fault list` (pure formatting)."""
from __future__ import annotations


def _cell(value) -> str:
    if value is None or value == "":
        return "-"
    if isinstance(value, dict):
        return ",".join(f"{k}={v}" for k, v in value.items() if v is not None) or "-"
    return str(value)


def _grid(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(header)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return "\n".join([fmt.format(*header), fmt.format(*("-" * w for w in widths))]
                     + [fmt.format(*r) for r in rows])


def _discovery(d) -> str:
    if not isinstance(d, dict):
        return _cell(d)
    return "registered" if d.get("registered") else "not registered"


def status_table(health: dict, info: dict, engines: list[dict]) -> str:
    services = ", ".join(f"{k} {v}" for k, v in health.get("services", {}).items())
    head = (f"emulator {health.get('status')} (up {health.get('uptime_s')} s): {services}\n"
            f"function {info.get('function')}  s3 {info.get('s3_endpoint')} bucket {info.get('bucket')}"
            f"  discovery {info.get('discovery') or '-'}\n")
    rows = []
    for e in engines:
        push = e.get("last_push") or {}
        boot = e.get("boot") or {}
        rows.append([e["name"], e["state"], _cell(e.get("pid")), _cell(e.get("port")),
                     _cell(e.get("instance_id")), _cell(e.get("cursor")),
                     f"{_cell(e.get('lsn'))}/{_cell(e.get('durable_lsn'))}",
                     f"{_cell(push.get('kind'))} {_cell(push.get('status'))}",
                     _cell(e.get("buffered_bytes")), _cell(boot.get("how") if isinstance(boot, dict) else boot),
                     _discovery(e.get("discovery"))])
    return head + _grid(["ENGINE", "STATE", "PID", "PORT", "INSTANCE", "CURSOR", "LSN/DURABLE",
                         "LAST PUSH", "BUFFERED", "BOOT", "DISCOVERY"], rows)


def fault_table(faults: dict) -> str:
    rows = []
    for f in faults.get("function", []):
        target = "store" if f["kind"].startswith("store_") else "function"
        detail = {k: f[k] for k in ("status", "rate", "count", "retry_after", "ms", "jitter_ms", "bytes")
                  if f.get(k) not in (None, 0)}
        rows.append([str(f["id"]), target, f["kind"].removeprefix("store_"), _cell(detail)])
    for name, skew in (faults.get("engines") or {}).items():
        rows.append(["-", "engine", "clock_skew", f"{name} {skew:+} s"])
    disc = faults.get("discovery")
    if disc:
        rows.append(["-", "discovery", "network", _cell(disc) if isinstance(disc, dict) else str(disc)])
    return _grid(["ID", "TARGET", "KIND", "SETTINGS"], rows) if rows else "no faults set"
