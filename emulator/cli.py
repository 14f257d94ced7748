"""The `wkp-emu` command line: one sub-command per module.

Each command module exposes `add_parser(subparsers)` which registers its
sub-command and sets `func` to a callable taking the parsed args and returning
an exit status. Modules are imported only to register, so start-up stays fast.
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys

COMMAND_MODULES = [
    "emulator.function.command",
    "emulator.conformance.command",
    "emulator.supervisor.command",
    "emulator.api.commands",
    "engines_fake.command",
    "emulator.discovery.command",
    "emulator.scenario.command",
    "emulator.tui.command",
    "emulator.containers.command",
    "emulator.containers.compose_command",
    "emulator.containers.compose_store",
    "emulator.platforms.lambda_host.command",
    "emulator.platforms.package_command",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="wkp-emu",
        description="Local emulator for the WeftKit WKP-1 serverless-persistence stack.")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except BrokenPipeError:  # `wkp-emu scenario list | head`: the reader left; not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


if __name__ == "__main__":
    sys.exit(main())
