"""`wkp-emu conformance`: prove a WKP-1 function (ours or yours) against the contract.

Prints one line per clause as it completes, then a summary; exit status 0 when
nothing failed, 1 when a clause failed (or warned, with --strict), 2 for bad
arguments or an endpoint that does not answer at all.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import sys
import uuid

from emulator.protocol import names
from emulator.protocol.errors import MalformedRequest
from emulator.protocol.function_rules import DEFAULT_MAX_PAYLOAD

from . import registry, report

_UNITS = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9,
          "kib": 2**10, "mib": 2**20, "gib": 2**30}
_SIZE = re.compile(r"(\d+)\s*([a-z]*)")


def parse_size(text: str) -> int:
    """`1048576`, `6MB`, `100MiB` -> bytes (argparse type)."""
    match = _SIZE.fullmatch(text.strip().lower())
    if not match or match[2] not in _UNITS or int(match[1]) < 1:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a size in bytes (e.g. 1048576, 6MB, 100MiB)")
    return int(match[1]) * _UNITS[match[2]]


def _checked(check, what: str):
    def parse(text: str) -> str:
        try:
            return check(text)
        except MalformedRequest as exc:
            raise argparse.ArgumentTypeError(f"{text!r} is not a valid {what}: {exc.reason}") from None
    return parse


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number of seconds")
    return value


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "conformance", help="check any WKP-1 function against the contract, clause by clause",
        description="Run the WKP-1 conformance suite against a function over HTTP(S). Writes only "
        "under --tenant (a random conformance-… tenant by default). See docs/conformance.md.")
    p.add_argument("--endpoint", default=os.environ.get("WEFTKIT_PERSIST_ENDPOINT"),
                   metavar="URL", help="the function's URL (default: $WEFTKIT_PERSIST_ENDPOINT)")
    p.add_argument("--secret", default=os.environ.get("WEFTKIT_PERSIST_SECRET"),
                   help="the HMAC secret (default: $WEFTKIT_PERSIST_SECRET, which keeps it out of ps)")
    p.add_argument("--tenant", type=_checked(names.tenant, "tenant"),
                   help="tenant to write under (default: a random conformance-<hex>)")
    p.add_argument("--engine", type=_checked(names.engine, "engine"), default="relational",
                   help="engine to write under (default: relational)")
    p.add_argument("--max-payload", type=parse_size, default=DEFAULT_MAX_PAYLOAD, metavar="BYTES",
                   help="the function's payload limit, for the 413 clauses (default 100MiB)")
    p.add_argument("--timeout", type=_positive_seconds, default=30.0, metavar="SECONDS",
                   help="time limit per clause (default 30)")
    p.add_argument("--only", action="append", default=[], metavar="PATTERN",
                   help="run only matching clauses: an id prefix (auth) or a glob ('*.409'); "
                   "repeatable, comma-separated")
    p.add_argument("--json", action="store_true", help="print one JSON document instead of lines")
    p.add_argument("--strict", action="store_true",
                   help="warnings (extension clauses, open /health) also make the exit status 1")
    p.add_argument("--list", action="store_true", help="list the clauses and exit")
    p.set_defaults(func=run)


def run(args) -> int:
    clauses = registry.select(registry.all_clauses(), registry.split_patterns(args.only))
    if not clauses:
        print(f"conformance: no clause matches --only {' '.join(args.only)} (see --list)",
              file=sys.stderr)
        return report.EXIT_USAGE
    if args.list:
        print("\n".join(report.format_listing(clauses)))
        return report.EXIT_OK
    missing = [opt for opt, value in (("--endpoint", args.endpoint), ("--secret", args.secret))
               if not value]
    if missing:
        print(f"conformance: {' and '.join(missing)} required (or WEFTKIT_PERSIST_ENDPOINT / "
              "WEFTKIT_PERSIST_SECRET)", file=sys.stderr)
        return report.EXIT_USAGE
    from .context import Settings  # here: it brings the aiohttp client, which every `wkp-emu` command would pay for
    settings = Settings(endpoint=args.endpoint, secret=args.secret,
                        tenant=args.tenant or f"conformance-{uuid.uuid4().hex[:12]}",
                        engine=args.engine, max_payload=args.max_payload, timeout=args.timeout)
    return asyncio.run(_run(clauses, settings, args))


async def _run(clauses, settings, args) -> int:
    from .runner import Unreachable, run_clauses
    width = report.id_width(c.id for c in clauses)
    count = f"{len(clauses)} clause{'' if len(clauses) == 1 else 's'}"
    print(f"conformance: {count} against {settings.endpoint} "
          f"(tenant {settings.tenant}, engine {settings.engine})", file=sys.stderr, flush=True)

    def show(result):
        if not args.json:
            print(report.format_line(result, width), flush=True)
    try:
        results = await run_clauses(clauses, settings, on_result=show)
    except Unreachable as exc:
        print(f"conformance: {exc}", file=sys.stderr)
        return report.EXIT_USAGE
    if args.json:
        print(json.dumps(report.to_json(results, endpoint=settings.endpoint, tenant=settings.tenant,
                                        engine=settings.engine, max_payload=settings.max_payload,
                                        strict=args.strict), indent=2))
    else:
        print(report.summary(results), flush=True)
    return report.exit_status(results, args.strict)
