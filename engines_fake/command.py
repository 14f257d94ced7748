"""`wkp-emu engine` and `python -m engines_fake`: one fake WeftKit engine process.

Configuration comes from the WEFTKIT_PERSIST_* environment (seed 000 plus the
emulator's extensions, emulator.protocol.engine_config); a bad value stops the
process before it touches anything, with the variable named on stderr and
exit status 2. Once serving, it prints one JSON line on stdout:
{"kind", "instance_id", "port", "pid", "mode", "boot", "cursor", ...}.

Exit statuses: 0 stopped (final flush done or not needed); 1 volume I/O
failed; 2 bad configuration; 3 SIGTERM flush incomplete (budget or retries
ran out: the ledger names the unacknowledged lsns); 4 restore on boot failed;
5 the volume cannot be read or is in use by another engine; 6 the
container-mode sidecar did not start; 7 every write acknowledged, but the
sidecar did not stop cleanly (docs/engines.md, container mode).
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from pathlib import Path

from emulator.protocol.engine_config import ConfigError, parse_engine_config
from emulator.protocol.names import ENGINE_KINDS

EXIT_BAD_CONFIG, EXIT_SIDECAR = 2, 6


def _arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--kind", required=True, choices=ENGINE_KINDS)
    p.add_argument("--data-dir", type=Path, metavar="DIR",
                   help="the engine's volume (default .wkp-emu/engines/KIND)")
    p.add_argument("--port", type=int, default=0, help="data API port (default 0: a free one)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--witness-dir", metavar="DIR",
                   help="keep a write witness outside the volume (WEFTKIT_ENGINE_WITNESS_DIR)")
    p.add_argument("--log-level", default="INFO")


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("engine", help="run one fake WeftKit engine (WKP-1 engine side)",
                              description=__doc__.split("\n\n")[0])
    _arguments(p)
    p.set_defaults(func=run)


def run(args) -> int:
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr,
                        format=f"%(asctime)s {args.kind} %(name)s %(levelname)s %(message)s")
    env = dict(os.environ)
    if args.witness_dir:
        env["WEFTKIT_ENGINE_WITNESS_DIR"] = args.witness_dir
    try:
        config = parse_engine_config(env)
        from . import membership
        membership.check(env)
    except (ConfigError, ValueError) as exc:
        print(f"wkp-emu engine: invalid configuration: {exc}", file=sys.stderr)
        return EXIT_BAD_CONFIG
    from .driver import Engine  # heavy imports only once the config is valid
    from .sidecar import SidecarError
    engine = Engine(kind=args.kind, data_dir=args.data_dir or Path(".wkp-emu/engines") / args.kind,
                    config=config, host=args.host, port=args.port, env=env)
    try:
        return asyncio.run(engine.run())
    except SidecarError as exc:
        print(f"wkp-emu engine: {exc}", file=sys.stderr)
        return EXIT_SIDECAR
    except KeyboardInterrupt:
        return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m engines_fake", description=__doc__.split("\n\n")[0])
    _arguments(parser)
    return run(parser.parse_args(argv))
