"""`python -m emulator.discovery.agent`: register anything with discovery from a shell.

Registers one instance, heartbeats in the foreground, and leaves (status
`left`) on SIGINT/SIGTERM: what an engine does, for services the emulator does
not run itself (and for tests: a real process to SIGKILL). Prints one JSON line
once registered. URLs come from --url or WEFTKIT_DISCOVERY_URL.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import sys

from .client import ENV_URL, ClientSettings, DiscoveryClient, Presence, Registration


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m emulator.discovery.agent",
                                description=__doc__.split("\n\n")[1])
    p.add_argument("--url", action="append", help=f"discovery REST URL (repeatable; "
                   f"default: ${ENV_URL}, comma-separated)")
    p.add_argument("--node-id", required=True)
    p.add_argument("--type", required=True, help="database type, e.g. relational")
    p.add_argument("--protocol", required=True, help="wire protocol, e.g. postgres")
    p.add_argument("--endpoint", required=True, help="host:port or URL clients use")
    p.add_argument("--group", action="append", default=[], help="a group (repeatable)")
    p.add_argument("--log-level", default="WARNING")
    return p.parse_args(argv)


async def run(args) -> int:
    env = dict(os.environ)
    if args.url:
        env[ENV_URL] = ",".join(args.url)
    settings = ClientSettings.from_env(env)
    if settings is None:
        print(f"agent: no discovery URL (--url or {ENV_URL})", file=sys.stderr)
        return 2
    registration = Registration(args.node_id, args.type, args.protocol, args.endpoint,
                                tuple(dict.fromkeys(args.group + list(settings.groups))))
    presence = Presence(DiscoveryClient(settings.urls, ssl=settings.ssl), registration)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    registered = await presence.start()
    print(json.dumps({"node_id": args.node_id, "registered": registered,
                      "url": presence.client.url, "host": presence.host}), flush=True)
    await stop.wait()
    await presence.stop(leave=True)
    return 0


def main(argv=None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr)
    try:
        return asyncio.run(run(args))
    except ValueError as exc:
        print(f"agent: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
