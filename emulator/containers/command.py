"""`wkp-emu image build`: the engine image, from local files only (docs/docker.md)."""
from __future__ import annotations

import json
import sys


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("image", help="the engine image for the docker backend and compose files",
                              description="The engine image wkp-emu/engine:<version> (docs/docker.md).")
    sub = p.add_subparsers(dest="image_command", metavar="ACTION")
    b = sub.add_parser("build", help="build wkp-emu/engine:<version> where missing or stale",
                       description="Build the engine image from local files: a debootstrapped Debian "
                                   "root filesystem (once), the dependencies (once per set of versions) "
                                   "and this source tree's wheel. Nothing is pulled from a registry.")
    b.add_argument("--rebuild", action="store_true", help="rebuild the top layer (the project) even if current")
    b.add_argument("--from-scratch", action="store_true",
                   help="rebuild every layer: a new root filesystem and a new wheelhouse")
    b.add_argument("--json", action="store_true", help="print the build report as JSON")
    b.set_defaults(func=run_build)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def run_build(args) -> int:
    from .image import ImageError, build_image, build_log
    try:
        report = build_image(rebuild=args.rebuild, from_scratch=args.from_scratch,
                             progress=lambda msg: print(f"wkp-emu image: {msg} ...", file=sys.stderr, flush=True))
    except ImageError as exc:
        print(f"wkp-emu image: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps({"tag": report.tag, "seconds": round(report.seconds, 1), "log": str(build_log()),
                          "steps": [{"name": s.name, "tag": s.tag, "seconds": round(s.seconds, 1),
                                     "cached": s.cached} for s in report.steps]}))
        return 0
    for s in report.steps:
        print(f"  {s.name:<7} {s.tag:<40} " + ("cached" if s.cached else f"built in {s.seconds:.1f}s"))
    print(f"{report.tag} " + (f"built in {report.seconds:.1f}s" if report.built else "is up to date"))
    return 0
