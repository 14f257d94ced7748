"""Pure formatting for the TUI: cells, colours, ages, sizes, rates and percentiles.
Everything here takes plain data (and `now`) and returns text, so it is tested
without a terminal."""
from __future__ import annotations

from rich.text import Text

from .model import lag

COLUMNS = ("ENGINE", "KIND", "STATE", "PID", "PORT", "INSTANCE", "CURSOR", "LSN/DURABLE", "LAG",
           "LAST PUSH", "BUFFERED", "BOOT", "DISCOVERY", "ALERTS")
STATE_STYLE = {"running": "green", "starting": "yellow", "stopping": "yellow", "stopped": "dim",
               "crashed": "bold red", "killed": "red", "failed": "bold red"}
MEMBER_STYLE = {"alive": "green", "suspect": "yellow", "failed": "bold red", "left": "dim"}


def dash(value) -> str:
    return "-" if value is None or value == "" else str(value)


def age(seconds: float | None) -> str:
    """'4s', '3m', '2h', '5d' (how long ago); '-' when unknown."""
    if seconds is None:
        return "-"
    s = max(0, int(seconds))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if s >= size:
            return f"{s // size}{unit}"
    return f"{s}s"


def size(n) -> str:
    """Bytes as '512 B', '1.5 KiB', '3.0 MiB'."""
    if not isinstance(n, (int, float)):
        return "-"
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return "-"


def short_cursor(cursor) -> str:
    """A cursor's epoch and sequence, the parts that move (the full one is in the detail)."""
    if not cursor:
        return "-"
    text = str(cursor)
    return text if len(text) <= 18 else "…" + text[-17:]


AGE_WIDTH = 4  # '59s', '23h', '364d': the widest an age cell gets


def push_tail(push: dict | None) -> str:
    """A push cell without its age: 'delta 200' ('-' when there was none)."""
    return f"{dash(push.get('kind'))} {dash(push.get('status'))}" if push else "-"


def push_age(push: dict | None, now: float) -> str | None:
    """How long ago the push was, or None when there was none (or its time is unknown)."""
    at = (push or {}).get("at")
    return age(now - at) if isinstance(at, (int, float)) else ("-" if push else None)


def push_cell(push: dict | None, now: float) -> str:
    if not push:
        return "-"
    return f"{push_age(push, now)} {push_tail(push)}"


def discovery_cell(d, member: str | None = None):
    """Discovery's own verdict on the engine when known (alive / suspect / failed /
    left), else what the engine says of itself (registered / joining)."""
    if member:
        return Text(member, style=MEMBER_STYLE.get(member, ""))
    if not isinstance(d, dict):
        return dash(d)
    return "registered" if d.get("registered") else "joining"


def boot_cell(boot) -> str:
    return dash(boot.get("how") if isinstance(boot, dict) else boot)


PUSH = COLUMNS.index("LAST PUSH")


def still_cells(row: dict, alerts: int = 0, marked: bool = False, member: str | None = None) -> tuple:
    """One fleet row's cells, in COLUMNS order, the state coloured, except what moves
    with the clock alone: the push column holds its kind and status (push_tail) and
    the table puts the push's age in front when it draws the line, so a row's cells
    change only when the row does."""
    state = row.get("state", "?")
    n_alerts = alerts + (row.get("alerts") or 0)
    return (("● " if marked else "") + row["name"], dash(row.get("kind")),
            Text(state, style=STATE_STYLE.get(state, "")), dash(row.get("pid")),
            dash(row.get("port")), dash(row.get("instance_id")), short_cursor(row.get("cursor")),
            f"{dash(row.get('lsn'))}/{dash(row.get('durable_lsn'))}", dash(lag(row)),
            push_tail(row.get("last_push")), size(row.get("buffered_bytes")),
            boot_cell(row.get("boot")), discovery_cell(row.get("discovery"), member),
            Text(str(n_alerts), style="bold red") if n_alerts else "0")


def row_cells(row: dict, now: float, alerts: int = 0, marked: bool = False,
              member: str | None = None) -> tuple:
    """One fleet row's cells as shown at `now`."""
    cells = list(still_cells(row, alerts, marked, member))
    cells[PUSH] = push_cell(row.get("last_push"), now)
    return tuple(cells)


def summary_line(rows: dict, health: dict | None) -> str:
    """'running · 4 engines: 4 running · function running · store running · discovery running'."""
    states: dict[str, int] = {}
    for row in rows.values():
        states[row.get("state", "?")] = states.get(row.get("state", "?"), 0) + 1
    counts = ", ".join(f"{n} {s}" for s, n in sorted(states.items())) or "none"
    services = " · ".join(f"{k} {v}" for k, v in ((health or {}).get("services") or {}).items())
    head = (health or {}).get("status", "connecting")
    return f"{head} · {len(rows)} engines: {counts}" + (f" · {services}" if services else "")


# ---------------------------------------------------------------- the function


def request_totals(snapshot: dict) -> dict[tuple[str, str], int]:
    """{(endpoint, status): requests} from /v1/function."""
    return {(path, status): n for path, m in (snapshot or {}).items()
            for status, n in (m.get("requests") or {}).items()}


def rates(before: dict, after: dict, seconds: float) -> dict[tuple[str, str], float]:
    """Requests per second per (endpoint, status) between two request_totals."""
    if seconds <= 0:
        return {}
    return {key: max(0, n - before.get(key, 0)) / seconds for key, n in after.items()}


def histogram(metrics_text: str) -> dict[str, list[tuple[float, int]]]:
    """{endpoint: [(le, cumulative count)]} from /metrics' latency histogram."""
    out: dict[str, list[tuple[float, int]]] = {}
    for line in metrics_text.splitlines():
        if not line.startswith("wkp_function_latency_seconds_bucket{"):
            continue
        labels, _, value = line.partition("} ")
        fields = dict(part.split("=", 1) for part in labels.split("{", 1)[1].split(","))
        le = fields.get("le", "").strip('"')
        out.setdefault(fields.get("path", "").strip('"'), []).append(
            (float("inf") if le == "+Inf" else float(le), int(float(value))))
    return {p: sorted(b) for p, b in out.items()}


def quantile(buckets: list[tuple[float, int]], q: float) -> float | None:
    """The upper bound of the bucket holding the q-th request (as Prometheus estimates)."""
    total = buckets[-1][1] if buckets else 0
    if not total:
        return None
    for le, count in buckets:
        if count >= q * total:
            return le
    return buckets[-1][0]


def millis(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    return "> max" if seconds == float("inf") else f"{seconds * 1000:.0f} ms"


def fault_lines(faults: dict) -> list[str]:
    """The faults in force, one line each (as `wkp-emu fault list` shows them)."""
    from emulator.api.tables import fault_table
    table = fault_table(faults or {})
    return table.splitlines()


def instance_lines(snapshot: dict) -> list[str]:
    """The function's instances (counters, then one line per live instance) and, when a
    platform profile is set, its limits and what they mean (pure; from /v1/function)."""
    from emulator.api.tables import instance_line, instances_summary, platform_line
    instances = (snapshot or {}).get("instances")
    out = []
    if isinstance(instances, dict):
        out.append(instances_summary(instances))
        out += ["  " + instance_line(one) for one in instances.get("instances") or ()]
    else:
        out.append("no instance view (the function is not up yet)")
    platform = (snapshot or {}).get("platform") or {}
    if platform_line(platform):
        out.append(platform_line(platform))
        out += list(platform.get("fit") or ())[1:]  # its first line names the profile again
    return out
