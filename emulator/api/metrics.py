"""/metrics of the control API: fleet gauges plus the function's own counters."""
from __future__ import annotations

_STATES = ("starting", "running", "stopping", "stopped", "crashed", "killed", "failed")


def prometheus(supervisor) -> str:
    lines = ["# TYPE wkp_engines gauge"]
    counts: dict[tuple[str, str], int] = {}
    for pod in supervisor.pods.values():
        counts[(pod.slot.kind, pod.state)] = counts.get((pod.slot.kind, pod.state), 0) + 1
    for (kind, state), n in sorted(counts.items()):
        lines.append(f'wkp_engines{{kind="{kind}",state="{state}"}} {n}')
    lines.append("# TYPE wkp_engine_lsn gauge")
    lines.append("# TYPE wkp_engine_durable_lsn gauge")
    lines.append("# TYPE wkp_engine_buffered_bytes gauge")
    for pod in supervisor.pods.values():
        for metric, key in (("lsn", "lsn"), ("durable_lsn", "durable_lsn"),
                            ("buffered_bytes", "buffered_bytes")):
            value = pod.status.get(key)
            if isinstance(value, (int, float)):
                lines.append(f'wkp_engine_{metric}{{engine="{pod.name}"}} {value}')
    lines.append("# TYPE wkp_events_total counter")
    lines.append(f"wkp_events_total {supervisor.events.history()[-1].seq if supervisor.events.history() else 0}")
    return "\n".join(lines) + "\n" + supervisor.services.metrics.prometheus()
