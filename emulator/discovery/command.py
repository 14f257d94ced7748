"""`wkp-emu discovery --config FILE.toml`: one discovery node in the foreground.

Prints one JSON line when ready (node id, gossip address, API URL), logs
membership changes to stderr, and on SIGINT/SIGTERM leaves the cluster
gracefully before exiting 0. A bad config exits 2 naming the key.
"""
from __future__ import annotations

import asyncio
import json
import logging
import signal
import sys

from .config import DiscoveryConfig, check, load_config, with_overrides
from .runner import start_discovery


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "discovery", help="run a discovery node (SWIM over UDP + REST health API)",
        description="Run a WeftKit Discovery stand-in: SWIM membership over UDP on loopback and "
                    "a REST API (members, groups, load-balancer view, health, registration). "
                    "Configured by the [discovery] table of a TOML file (seed 003); flags "
                    "override it. Prints one JSON line when ready. See docs/discovery.md.")
    p.add_argument("--config", metavar="FILE.toml", help="TOML file with a [discovery] table")
    p.add_argument("--node-id", help="overrides discovery.node_id")
    p.add_argument("--bind", help="gossip UDP host:port (overrides discovery.bind)")
    p.add_argument("--api-bind", help="REST host:port (overrides discovery.api_bind)")
    p.add_argument("--seed", action="append", dest="seeds", metavar="HOST:PORT",
                   help="a seed peer (repeatable; overrides discovery.seeds)")
    p.add_argument("--log-level", default="WARNING")
    p.set_defaults(func=run)


def config_from_args(args) -> DiscoveryConfig:
    overrides = {"node_id": args.node_id, "bind": args.bind, "api_bind": args.api_bind,
                 "seeds": args.seeds}
    if args.config:
        return load_config(args.config, **overrides)
    return with_overrides(check(DiscoveryConfig()), **overrides)


def run(args) -> int:
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        config = config_from_args(args)
    except ValueError as exc:
        print(f"wkp-emu discovery: {exc}", file=sys.stderr)
        return 2
    try:
        return asyncio.run(_serve(config))
    except KeyboardInterrupt:
        return 0
    except (OSError, ValueError) as exc:
        print(f"wkp-emu discovery: {exc}", file=sys.stderr)
        return 1


async def _serve(config: DiscoveryConfig) -> int:
    running = await start_discovery(config)
    node = running.node
    print(json.dumps({"node_id": node.node_id, "udp": node.udp_addr, "api": running.api_url,
                      "seeds": list(config.seeds), "tls": config.tls,
                      "gossip_interval_ms": config.gossip_interval_ms,
                      "suspicion_timeout_ms": config.suspicion_timeout_ms}), flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await running.stop()
    return 0
