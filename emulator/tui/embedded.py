"""`wkp-emu up` on a terminal: the stack and the fleet view in one process.

The view still reads and acts only through the control API (over loopback, in
the same event loop as the supervisor), exactly as `wkp-emu tui` does attached.
Quitting asks whether to stop the emulator: yes stops it as Ctrl-C did (engines
flush); no leaves the view and keeps the emulator in the foreground, printing
event lines, until Ctrl-C. When the emulator stops under the view (`wkp-emu
down` from another terminal, SIGTERM), the view closes.

The default fleet gets a gentle write workload here, and only here (see
docs/tui.md): a new user should see pushes and cursors move, while headless and
CI runs keep quiet engines that tests can reason about.
"""
from __future__ import annotations

import asyncio
import logging
import signal
import sys
from pathlib import Path


def _log_to_file(state_dir: Path) -> None:
    """The view owns the terminal: the supervisor's warnings go to a log file."""
    path = Path(state_dir) / "logs" / "emulator.log"
    path.parent.mkdir(parents=True, exist_ok=True)
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    handler = logging.FileHandler(path)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    root.addHandler(handler)


async def up_with_tui(config, fresh: bool) -> int:
    from emulator.supervisor.command import Console, report_failures, start_stack
    from emulator.supervisor.engine_admin import with_gentle_workload
    from .app import FleetApp
    from .source import LiveSource

    config = with_gentle_workload(config)
    _log_to_file(Path(config.state_dir))
    print("wkp-emu: starting the stack (store, function, discovery, engines) ...", flush=True)
    supervisor, runner = await start_stack(config, fresh)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):  # ctrl+c on the keyboard is a key (it asks)
        loop.add_signal_handler(sig, lambda: asyncio.ensure_future(supervisor.stop()))
    source = LiveSource(supervisor.control_url)
    app = FleetApp(source, embedded=True)

    async def close_when_stopped():
        await supervisor.stopped.wait()
        app.exit("stopped")
    watcher = asyncio.create_task(close_when_stopped())
    try:
        answer = await app.run_async()
    finally:
        watcher.cancel()
        await source.close()
    if answer == "keep" and not supervisor.stopped.is_set():
        await _keep_running(supervisor, Console(headless=False), report_failures)
    print("wkp-emu: stopping (engines flush first) ...", flush=True)
    await supervisor.stop()
    await runner.cleanup()
    print("wkp-emu stopped", flush=True)
    return 0


async def _keep_running(supervisor, console, report_failures) -> None:
    """After 'keep running': the summary and event lines, until Ctrl-C or SIGTERM."""
    health = supervisor.health()
    console.ready(supervisor, health)
    report_failures(health)
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGINT, lambda: asyncio.ensure_future(supervisor.stop()))
    printer = asyncio.create_task(console.follow(supervisor.events))
    await supervisor.stopped.wait()
    printer.cancel()
    await asyncio.gather(printer, return_exceptions=True)
    print(file=sys.stdout, flush=True)
