"""`wkp-emu up`, `wkp-emu exec` and `wkp-emu init`."""
from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import sys
from pathlib import Path

from aiohttp import web

from .config import BACKENDS, FUNCTION_TARGET_NAMES, ConfigFileError, EmulatorConfig, load_config, with_profiles
from .console import Console
from .starter import STARTER
from .supervisor import ActionError, Supervisor

DEFAULT_CONFIG = "wkp-emu.toml"


def add_parser(subparsers) -> None:
    up = subparsers.add_parser("up", help="start the whole stack in the foreground",
                               description="Start S3 (moto), the WKP-1 function, discovery and "
                               "a fleet of engines; Ctrl-C stops it as a platform would.")
    _stack_options(up)
    up.add_argument("--headless", action="store_true", default=None,
                    help="log JSON event lines (the default without a terminal)")
    up.add_argument("--no-tui", action="store_true",
                    help="on a terminal, print a summary and event lines instead of the fleet view")
    up.set_defaults(func=run_up)
    ex = subparsers.add_parser("exec", help="start the emulator, run a command, stop",
                               description="Start the stack, run CMD with the endpoints in its "
                               "environment, shut down, and exit with CMD's status.")
    _stack_options(ex)
    ex.add_argument("cmd", nargs=argparse_remainder(), metavar="-- CMD ...")
    ex.set_defaults(func=run_exec)
    init = subparsers.add_parser("init", help="write a commented starter wkp-emu.toml")
    init.add_argument("path", nargs="?", default=DEFAULT_CONFIG)
    init.add_argument("--force", action="store_true", help="overwrite an existing file")
    init.set_defaults(func=run_init)


def argparse_remainder():
    import argparse
    return argparse.REMAINDER


def _stack_options(p) -> None:
    p.add_argument("--config", metavar="FILE", help=f"configuration (default ./{DEFAULT_CONFIG} if present)")
    p.add_argument("--state-dir", metavar="DIR", help="overrides emulator.state_dir")
    p.add_argument("--port", type=int, metavar="PORT", help="control API port (overrides emulator.control_port)")
    p.add_argument("--fresh", action="store_true", help="start with an empty store")
    p.add_argument("--profile", action="append", metavar="NAME",
                   help="run under a platform profile (docs/functions.md): a function profile "
                   "(lambda-url, gcf, azure, container) or an engine platform (fargate, cloud-run, "
                   "aci, kubernetes); repeat for both")
    p.add_argument("--backend", choices=BACKENDS,
                   help="where engines run: process (default) or docker containers (overrides emulator.backend)")
    p.add_argument("--function", dest="function_target", choices=FUNCTION_TARGET_NAMES,
                   help="which WKP-1 function serves the engines: aiohttp (default); lambda, gcf or "
                   "azure, a reference function on its local stand-in (overrides [function] target)")


def resolve_config(args) -> EmulatorConfig:
    path = args.config or (DEFAULT_CONFIG if Path(DEFAULT_CONFIG).exists() else None)
    if args.config and not Path(args.config).exists():
        raise ConfigFileError("", f"no such file {args.config}", args.config)
    config = load_config(path) if path else EmulatorConfig()
    changes = {}
    if args.state_dir:
        changes["state_dir"] = args.state_dir
    if args.port is not None:
        changes["control_port"] = args.port
    if getattr(args, "backend", None):
        changes["backend"] = args.backend
    if getattr(args, "function_target", None):
        changes["function_target"] = args.function_target
    if getattr(args, "headless", None):
        changes["headless"] = True
    if changes:
        import dataclasses
        config = dataclasses.replace(config, **changes)
    return with_profiles(config, getattr(args, "profile", None))


def print_profile_fit(config: EmulatorConfig) -> None:
    """Before anything is deployed: what the function profile means for big pushes and restores
    (on stderr, so that headless JSON lines on stdout stay JSON)."""
    if config.function_profile:
        from emulator.platforms.profiles import fit_report, function_profile
        for line in fit_report(function_profile(config.function_profile)):
            print(line, file=sys.stderr, flush=True)


async def start_stack(config: EmulatorConfig, fresh: bool) -> tuple[Supervisor, web.AppRunner]:
    from emulator.api.app import create_app
    supervisor = Supervisor(config, Path(config.state_dir), fresh=fresh)
    runner = None
    try:
        await supervisor.start()
        runner = web.AppRunner(create_app(supervisor), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, config.control_host, config.control_port)
        await site.start()
        host, port = site._server.sockets[0].getsockname()[:2]
        supervisor.write_state_file(f"http://{host}:{port}")
    except BaseException:
        await supervisor.stop()
        if runner:
            await runner.cleanup()
        raise
    health = supervisor.health()  # ready means ready: say so when some engine is not
    supervisor.events.emit("emulator.ready", "emulator", **supervisor.describe(),
                           health=health["status"], failures=health["failures"])
    return supervisor, runner


def report_failures(health: dict, prefix: str = "wkp-emu") -> None:
    """Name each engine that is down and quote its own message, on stderr."""
    for name, message in sorted(health["failures"].items()):
        state = health["engines"].get(name, "down")
        print(f"{prefix}: {name} {state}: {message}", file=sys.stderr, flush=True)


async def _until_stopped(supervisor: Supervisor) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, lambda: asyncio.ensure_future(supervisor.stop()))
    await supervisor.stopped.wait()


async def _up(config: EmulatorConfig, fresh: bool, tui: bool = True) -> int:
    headless = config.headless if config.headless is not None else not sys.stdout.isatty()
    if tui and not headless and sys.stdin.isatty() and sys.stdout.isatty():
        from emulator.tui.embedded import up_with_tui  # the fleet view over this stack
        return await up_with_tui(config, fresh)
    console = Console(headless=headless)
    supervisor, runner = await start_stack(config, fresh)
    health = supervisor.health()
    console.ready(supervisor, health)
    report_failures(health)  # up keeps running degraded: the user may fix and recycle
    printer = asyncio.create_task(console.follow(supervisor.events))
    await _until_stopped(supervisor)
    await runner.cleanup()
    printer.cancel()
    await asyncio.gather(printer, return_exceptions=True)
    console.stopped()
    return 0


def _fail(message: str) -> int:
    print(f"wkp-emu: {message}", file=sys.stderr)
    return 2


def run_up(args) -> int:
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        config = resolve_config(args)
        print_profile_fit(config)
        return asyncio.run(_up(config, args.fresh, not getattr(args, "no_tui", False)))
    except (ConfigFileError, ActionError, OSError) as exc:
        return _fail(str(exc))
    except KeyboardInterrupt:
        return 130


async def _exec(config: EmulatorConfig, fresh: bool, cmd: list[str]) -> int:
    supervisor, runner = await start_stack(config, fresh)
    health = supervisor.health()
    if health["status"] != "running":  # CMD would test against a stack that is not there
        report_failures(health, "wkp-emu exec")
        print(f"wkp-emu exec: the stack is {health['status']}; not running {cmd[0]}",
              file=sys.stderr, flush=True)
        await supervisor.stop()
        await runner.cleanup()
        return 1
    d = supervisor.describe()
    env = dict(os.environ, WKP_EMU_CONTROL=d["control"], WKP_EMU_STATE_DIR=d["state_dir"],
               WEFTKIT_PERSIST_ENDPOINT=d["function"], WEFTKIT_PERSIST_SECRET=d["secret"],
               AWS_ENDPOINT_URL_S3=d["s3_endpoint"], WKP_EMU_S3_ENDPOINT=d["s3_endpoint"],
               WKP_EMU_BUCKET=d["bucket"], AWS_ACCESS_KEY_ID="wkp-emu",
               AWS_SECRET_ACCESS_KEY="wkp-emu", AWS_DEFAULT_REGION="us-east-1")
    if d["discovery"]:
        env["WKP_EMU_DISCOVERY"] = d["discovery"]
    try:
        process = await asyncio.create_subprocess_exec(*cmd, env=env)
        code = await process.wait()
    except FileNotFoundError:
        code = 127
        print(f"wkp-emu exec: command not found: {cmd[0]}", file=sys.stderr)
    finally:
        await supervisor.stop()
        await runner.cleanup()
    return code


def run_exec(args) -> int:
    cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
    if not cmd:
        return _fail("exec needs a command: wkp-emu exec -- CMD ...")
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    try:
        return asyncio.run(_exec(resolve_config(args), args.fresh, cmd))
    except (ConfigFileError, ActionError, OSError) as exc:
        return _fail(str(exc))


def run_init(args) -> int:
    path = Path(args.path)
    if path.exists() and not args.force:
        return _fail(f"{path} exists; use --force to overwrite it")
    path.write_text(STARTER)
    print(f"wrote {path}")
    return 0
