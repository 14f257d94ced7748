"""Serving the function: an AppRunner on a loopback port, with its moto if embedded."""
from __future__ import annotations

import asyncio
from dataclasses import dataclass

from aiohttp import web

from emulator.store.moto_server import EmbeddedS3

from .app import create_app
from .config import FunctionConfig


@dataclass
class RunningFunction:
    runner: web.AppRunner
    endpoint: str
    config: FunctionConfig
    s3: EmbeddedS3 | None = None

    async def stop(self) -> None:
        await self.runner.cleanup()  # first: 202 uploads still running need the store
        if self.s3 is not None:
            await asyncio.to_thread(self.s3.stop)


async def start_function(config: FunctionConfig, host: str = "127.0.0.1", port: int = 0,
                         s3: EmbeddedS3 | None = None) -> RunningFunction:
    # auto_decompress=False: WKP-1 bodies are stored and returned as sent.
    runner = web.AppRunner(create_app(config), auto_decompress=False, access_log=None,
                           handler_cancellation=True)
    await runner.setup()
    site = web.TCPSite(runner, host, port, reuse_address=True)
    try:
        await site.start()
    except BaseException:
        await runner.cleanup()
        raise
    bound = site._server.sockets[0].getsockname()
    return RunningFunction(runner, f"http://{bound[0]}:{bound[1]}", config, s3)
