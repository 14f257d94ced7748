"""Request counters of the function: by path and status, bytes, latency.

Metrics count what the client saw. A request whose connection the function
dropped on purpose (the `outage` fault) got no answer at all, so it is counted
under the status label DROPPED ("dropped"), never as an HTTP status it was
never sent; it sent no bytes, and its latency is the time until the drop.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Callable

DROPPED = "dropped"  # the status label of a request answered by closing its connection
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


@dataclass
class Metrics:
    requests: Counter = field(default_factory=Counter)  # (path, status or DROPPED) -> n
    bytes_in: Counter = field(default_factory=Counter)   # path -> bytes
    bytes_out: Counter = field(default_factory=Counter)
    latency_sum: Counter = field(default_factory=Counter)
    latency_buckets: Counter = field(default_factory=Counter)  # (path, le) -> n
    restore_relays: Counter = field(default_factory=Counter)  # "splice" | "stream" -> n
    # The instance host's view (instances.InstanceHost.view) and the platform's limits
    # (config.platform_view): shown under "instances" and "platform", next to the paths.
    instances: Callable[[], dict] | None = None
    platform: dict | None = None

    def observe(self, path: str, status: int | str, seconds: float, bytes_in: int,
                bytes_out: int) -> None:
        self.requests[(path, status)] += 1
        self.bytes_in[path] += bytes_in
        self.bytes_out[path] += bytes_out
        self.latency_sum[path] += seconds
        for le in BUCKETS:
            if seconds <= le:
                self.latency_buckets[(path, le)] += 1

    def snapshot(self) -> dict:
        paths = sorted({p for p, _ in self.requests})
        out = {p: {"requests": {str(s): n for (q, s), n in self._by_status() if q == p},
                    "bytes_in": self.bytes_in[p], "bytes_out": self.bytes_out[p],
                    "latency_mean_s": self.latency_sum[p] / max(1, sum(
                        n for (q, _), n in self.requests.items() if q == p))}
                for p in paths}
        if "/restore" in out:
            out["/restore"]["relays"] = dict(self.restore_relays)
        if self.instances is not None:
            out["instances"] = self.instances()
        if self.platform is not None:
            out["platform"] = self.platform
        return out

    def _by_status(self) -> list:
        """(path, status) counts in order; statuses are ints and DROPPED, so sort as text."""
        return sorted(self.requests.items(), key=lambda item: (item[0][0], str(item[0][1])))

    def prometheus(self) -> str:
        lines = ["# TYPE wkp_function_requests_total counter"]
        for (path, status), n in self._by_status():
            lines.append(f'wkp_function_requests_total{{path="{path}",status="{status}"}} {n}')
        for name, counter in (("bytes_in", self.bytes_in), ("bytes_out", self.bytes_out)):
            lines.append(f"# TYPE wkp_function_{name}_total counter")
            lines += [f'wkp_function_{name}_total{{path="{p}"}} {n}' for p, n in sorted(counter.items())]
        lines.append("# TYPE wkp_function_restore_relays_total counter")
        lines += [f'wkp_function_restore_relays_total{{relay="{r}"}} {n}'
                  for r, n in sorted(self.restore_relays.items())]
        if self.instances is not None:
            view = self.instances()
            for name in ("live", "busy"):
                lines.append(f"# TYPE wkp_function_instances_{name} gauge")
                lines.append(f"wkp_function_instances_{name} {view[name]}")
            for name in ("cold_starts", "warm_hits", "throttles", "reaped"):
                lines.append(f"# TYPE wkp_function_instance_{name}_total counter")
                lines.append(f"wkp_function_instance_{name}_total {view[name]}")
        lines.append("# TYPE wkp_function_latency_seconds histogram")
        for path in sorted(self.latency_sum):
            total = sum(n for (q, _), n in self.requests.items() if q == path)
            for le in BUCKETS:
                lines.append(f'wkp_function_latency_seconds_bucket{{path="{path}",le="{le}"}} '
                             f'{self.latency_buckets[(path, le)]}')
            lines.append(f'wkp_function_latency_seconds_bucket{{path="{path}",le="+Inf"}} {total}')
            lines.append(f'wkp_function_latency_seconds_sum{{path="{path}"}} {self.latency_sum[path]}')
            lines.append(f'wkp_function_latency_seconds_count{{path="{path}"}} {total}')
        return "\n".join(lines) + "\n"
