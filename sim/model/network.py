"""The network between engines and the function: latency, bandwidth per link, loss.

Pure: the caller passes a seeded random.Random. A request's time on the wire
is computed directly (no packets, no SimPy process): one round trip plus its
bytes over the link's bandwidth, each way. Loss is a failed connection (a
reset, a dropped SYN): the engine sees a network error after one round trip,
and the function never sees the request.
"""
from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Network:
    latency_s: float = 0.001        # one way
    jitter_s: float = 0.0           # uniform +- on each one-way latency
    bandwidth_bps: float = 125e6    # bytes per second per link (1 Gbit/s)
    loss: float = 0.0               # chance a request fails to connect

    def one_way(self, rng: random.Random, nbytes: int = 0) -> float:
        jitter = rng.uniform(-self.jitter_s, self.jitter_s) if self.jitter_s else 0.0
        return max(0.0, self.latency_s + jitter) + nbytes / self.bandwidth_bps

    def round_trip(self, rng: random.Random, nbytes: int = 0) -> float:
        """`one_way(rng) + one_way(rng, nbytes)`: a leg without bytes, then one with them,
        drawing in that order. Without jitter there is nothing to draw, and the sum is
        worked out here in one call (the function takes two of these per request)."""
        if self.jitter_s:
            return self.one_way(rng) + self.one_way(rng, nbytes)
        # The same terms as one_way's, summed in the same order: the same float.
        leg = max(0.0, self.latency_s + 0.0)
        return (leg + 0 / self.bandwidth_bps) + (leg + nbytes / self.bandwidth_bps)

    def lost(self, rng: random.Random) -> bool:
        return self.loss > 0 and rng.random() < self.loss


def from_table(table: dict) -> Network:
    """[sim.network] (already checked by the scenario schema) as a Network."""
    return Network(latency_s=table.get("latency_ms", 1.0) / 1000,
                   jitter_s=table.get("jitter_ms", 0.0) / 1000,
                   bandwidth_bps=table.get("bandwidth_mbps", 1000.0) * 1e6 / 8,
                   loss=table.get("loss", 0.0))
