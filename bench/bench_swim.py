"""SWIM on loopback against the paper: detection, failure agreement, dissemination.

For each cluster size N, N discovery nodes (each its own UDP socket, all in this
process's event loop) form a cluster through one seed. Then, per trial:

- dissemination: one node registers a new hosted member; the time until every
  node has its record, in protocol periods T, beside Serf's convergence model
  ceil(ln((N+1)*9999) / (0.5*fanout*(1-loss))) rounds (the rounds after which all
  but 1 in 10,000 nodes are expected to have it: a high-percentile model);
- a crash: max(1, N/16) nodes stop answering at once (their sockets close, no
  leave; one victim per 16 nodes gives more samples at little cost). Measured:
  the time to the first suspicion anywhere (SWIM's first detection) beside the
  paper's expected T/(1-(1-1/N)^(N-1)); and the time from that first suspicion
  until every other member marks it failed, beside the configured suspicion
  timeout. Crashed nodes are replaced by fresh ones so N stays the same;
- a pause, for more first-detection samples at little cost: max(1, N/16) nodes
  drop all their traffic (their own fault plan) until someone suspects each,
  which to the others is exactly a crash; then they come back and refute.

Times come from the nodes' own change events (wall clock, one process, so one
clock). Medians (and the worst trial) are printed with ratio = median / analytic.
The default timing is the seed's (500 ms / 5000 ms) scaled down 2.5x (200 ms /
2000 ms) to keep the run to a few minutes; ratios are in units of T either way.

    .venv/bin/python bench/bench_swim.py [--sizes 8,32,64] [--trials 7] [--pauses 15]
        [--interval-ms 200] [--suspicion-ms 2000] [--fanout 3] [--loss 0] [--json FILE]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import logging
import math
import random
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.swim_cluster import BenchCluster  # noqa: E402
from emulator.discovery.config import DiscoveryConfig, check  # noqa: E402
from emulator.discovery.faults import FaultPlan  # noqa: E402


def analytic_first_detection(n: int, period: float) -> float:
    """SWIM (Das et al. 2002): expected periods until some member probes the failed one."""
    return period / (1 - (1 - 1 / n) ** (n - 1))


def serf_rounds(n: int, fanout: int, loss: float) -> int:
    return math.ceil(math.log((n + 1) * 9999) / (0.5 * fanout * (1 - loss)))


async def measure(n: int, config: DiscoveryConfig, trials: int, pauses: int, loss: float,
                  rng: random.Random) -> dict:
    period = config.gossip_interval_ms / 1000
    cluster = BenchCluster(config)
    await cluster.start(n)
    if loss:
        cluster.set_faults(FaultPlan(loss=loss))
    await cluster.settle()
    spread, first, after_first, after_kill = [], [], [], []
    victims = max(1, n // 16)  # more samples per trial; still a small share of N
    for trial in range(trials):
        spread.append(await cluster.disseminate(f"probe-{n}-{trial}") / period)
        for detected, all_failed in await cluster.crash(rng, victims):
            first.append(detected)
            after_first.append(all_failed - detected)
            after_kill.append(all_failed)
        await cluster.replace_crashed(victims)
        await cluster.settle()
    for _ in range(pauses):
        first += await cluster.pause(rng, victims)
    health = max(node.core.health for node in cluster.running())
    crashed = {node.node_id for node in cluster.crashed}
    false = [(e.at, node.node_id, e.node_id) for node in cluster.nodes for e in node.events
             if e.status == "failed" and e.node_id not in crashed
             and not e.node_id.startswith("probe-")]
    for at, observer, node_id in sorted(false)[:5]:
        print(f"N={n}: {observer} marked live {node_id} failed at {at:.3f}", file=sys.stderr)
    false_failures = len(false)
    await cluster.stop()
    return {"n": n, "dissemination_rounds": spread, "first_detection_s": first,
            "failed_everywhere_after_first_s": after_first, "failed_everywhere_after_kill_s": after_kill,
            "lag_p99_ms": cluster.lag.p99_ms(), "max_health_score": health,
            "false_failures": false_failures}


def rows(result: dict, config: DiscoveryConfig, fanout: int, loss: float):
    n = result["n"]
    t = config.gossip_interval_ms / 1000
    timeout = config.suspicion_timeout_ms / 1000
    first = analytic_first_detection(n, t)
    for metric, key, analytic, model in (
            ("first detection (s)", "first_detection_s", first, "T/(1-(1-1/N)^(N-1))"),
            ("all mark failed after 1st suspicion (s)", "failed_everywhere_after_first_s",
             timeout, "suspicion timeout"),
            ("all mark failed after kill (s)", "failed_everywhere_after_kill_s", first + timeout,
             "first detection + timeout"),
            ("rounds until all have an update", "dissemination_rounds",
             serf_rounds(n, fanout, loss), "Serf ceil(ln((N+1)*9999)/(0.5*f*(1-loss)))")):
        yield metric, statistics.median(result[key]), max(result[key]), analytic, model


def print_table(results: list[dict], config: DiscoveryConfig, fanout: int, loss: float) -> None:
    print(f"\nT = {config.gossip_interval_ms} ms, suspicion timeout = "
          f"{config.suspicion_timeout_ms} ms, probe timeout = {config.probe_timeout_ms} ms, "
          f"k = {config.indirect_probes}, fanout = {fanout}, lambda = {config.retransmit_mult}, "
          f"loss = {loss}")
    header = (f"{'N':>3}  {'metric':<40} {'median':>8} {'worst':>8} {'analytic':>9} "
              f"{'ratio':>6}  model")
    print(header)
    print("-" * len(header))
    for result in results:
        for metric, median, worst, analytic, model in rows(result, config, fanout, loss):
            print(f"{result['n']:>3}  {metric:<40} {median:>8.3f} {worst:>8.3f} {analytic:>9.3f} "
                  f"{median / analytic:>6.2f}  {model}")
        print(f"     (first detections: {len(result['first_detection_s'])}, crashes: "
              f"{len(result['failed_everywhere_after_first_s'])}, updates: "
              f"{len(result['dissemination_rounds'])}, event-loop lag p99 "
              f"{result['lag_p99_ms']:.1f} ms, max local-health score {result['max_health_score']}, "
              f"live nodes ever marked failed: {result['false_failures']})")


async def main_async(args) -> list[dict]:
    config = check(DiscoveryConfig(
        bind="127.0.0.1:0", api_bind="127.0.0.1:0", gossip_interval_ms=args.interval_ms,
        probe_timeout_ms=args.probe_timeout_ms or int(0.4 * args.interval_ms),
        suspicion_timeout_ms=args.suspicion_ms, gossip_fanout=args.fanout,
        heartbeat_interval_ms=3_600_000, reconnect_interval_ms=60_000, sync_interval_ms=0,
        reap_after_ms=0))
    rng = random.Random(args.seed)
    results = []
    for n in args.sizes:
        started = time.monotonic()
        results.append(await measure(n, replace(config, rng_seed=rng.randrange(1 << 30)),
                                     args.trials, args.pauses, args.loss, rng))
        print(f"N={n}: {time.monotonic() - started:.0f} s", file=sys.stderr)
    print_table(results, config, args.fanout, args.loss)
    return results


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", type=lambda s: [int(x) for x in s.split(",")], default=[8, 32, 64])
    p.add_argument("--trials", type=int, default=7, help="crash trials per N")
    p.add_argument("--pauses", type=int, default=15,
                   help="extra first-detection trials per N (a node silenced, then back)")
    p.add_argument("--interval-ms", type=int, default=200)
    p.add_argument("--suspicion-ms", type=int, default=2000)
    p.add_argument("--probe-timeout-ms", type=int, default=0, help="default: 40%% of the interval")
    p.add_argument("--fanout", type=int, default=3)
    p.add_argument("--loss", type=float, default=0.0)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--json", metavar="FILE", help="also write the raw samples here")
    args = p.parse_args(argv)
    logging.getLogger("wkp.discovery").setLevel(logging.ERROR)  # fault-plan notices
    results = asyncio.run(main_async(args))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
