"""SWIM's analytic failure-detection times, for our probe order and our timers.

The SWIM paper (Das, Gupta, Motivala 2002, section 3.1) gives the expected
time from a member's failure to its first detection by some member as
T' * 1/(1 - e^(-q_f)), with each member probing a uniformly random member each
protocol period T' and q_f the fraction of members that are not faulty. Our
core probes round-robin over a list shuffled every round (section 4.3), and a
detection is a suspicion recorded at the end of the period of the failed
probe; so for a cluster of N members of which one crashes at a time uniform
over the protocol period (docs/sim.md, "Discovery in the simulator", has the
derivation):

- each of the M = N - 1 survivors probes the crashed member once per round;
  the gap G between two of its probes of it (in periods) is (M - a) + b for
  independent positions a, b uniform on 1..M: P(G = g) = (M - |g - M|) / M^2,
  g = 1..2M-1, mean M;
- counted from the first period boundary after the crash, the survivor's
  first probe of it is at boundary R >= 1 with P(R = r) = P(G >= r) / M (the
  crash falls in a gap with probability proportional to its length);
- the first detection is at boundary K = min of the M independent R's, at
  the end of that period: D = U*T + K*T, U ~ Uniform(0, 1) the wait for the
  first boundary, so E[D] = T * (1/2 + E[K]) with
  E[K] = sum_{k>=0} P(R > k)^M;
- the member is declared failed `suspicion_timeout` after the first
  suspicion (every suspicion carries its age), so E[F] = E[D] + S.

As N grows, P(R > k)^M -> e^(-k), E[K] -> 1/(1 - e^(-1)) = 1.582: the paper's
figure with q_f = 1. Pure arithmetic, no I/O.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from emulator.membership import SwimParams


def probe_gap(m: int) -> list[float]:
    """P(G = g) for g = 0..2m-1 (index 0 unused): periods between two probes of one member."""
    if m < 1:
        raise ValueError(f"a cluster needs at least one survivor, got {m}")
    return [0.0] + [(m - abs(g - m)) / m ** 2 for g in range(1, 2 * m)]


def expected_first_probe(n: int) -> float:
    """E[K]: the boundary (1 = the first after the crash) at which some survivor first
    probes the crashed member, in a cluster of n members with round-robin probing."""
    m = n - 1
    gap = probe_gap(m)
    at_least = [0.0] * (2 * m + 1)           # P(G >= g)
    for g in range(2 * m - 1, 0, -1):
        at_least[g] = at_least[g + 1] + gap[g]
    residual_tail = [0.0] * (2 * m + 1)      # P(R > k) = sum_{j > k} P(G >= j) / m
    for k in range(2 * m - 1, -1, -1):
        residual_tail[k] = residual_tail[k + 1] + at_least[k + 1] / m
    return sum(residual_tail[k] ** m for k in range(2 * m))


def paper_first_detection(period: float, alive_fraction: float = 1.0) -> float:
    """The SWIM paper's expected first-detection time, random probe targets: T'/(1 - e^-q_f)."""
    return period / (1.0 - math.exp(-alive_fraction))


@dataclass(frozen=True)
class DetectionTimes:
    n: int
    first_probe_periods: float   # E[K]
    first_detection_s: float     # E[D]: crash -> first suspicion anywhere
    failure_s: float             # E[F]: crash -> first `failed` anywhere


def expected_detection(n: int, params: SwimParams) -> DetectionTimes:
    """Expected times from a crash at a random moment to first suspicion and to failure."""
    k = expected_first_probe(n)
    first = params.period * (0.5 + k)
    return DetectionTimes(n, k, first, first + params.suspicion_timeout)
