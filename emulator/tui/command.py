"""`wkp-emu tui`: the fleet view attached to an emulator that is already running.

Quitting it leaves the emulator running. (`wkp-emu up` on a terminal opens the
same view over the stack it starts; see emulator/supervisor/command.py.)
"""
from __future__ import annotations

import sys


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("tui", help="the fleet view: watch and steer a running emulator",
                              description="Attach the fleet view to a running emulator (found "
                              "through --state-dir, default .wkp-emu, or WKP_EMU_CONTROL). "
                              "Quitting leaves the emulator running.")
    p.add_argument("--state-dir", metavar="DIR", help="the emulator's state dir (default .wkp-emu)")
    p.set_defaults(func=run_tui)


def run_tui(args) -> int:
    from emulator.api.client import NoEmulator, control_url
    try:
        base = control_url(args.state_dir)
    except NoEmulator as exc:
        print(f"wkp-emu: {exc}", file=sys.stderr)
        return 3
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        print("wkp-emu: tui needs a terminal (for scripts: wkp-emu status, wkp-emu logs -f)",
              file=sys.stderr)
        return 2
    from .app import FleetApp
    from .source import LiveSource
    app = FleetApp(LiveSource(base))
    app.run()
    return 0

