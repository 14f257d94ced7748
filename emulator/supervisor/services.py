"""The fixed services of the stack: the S3 store, the WKP-1 function, discovery.

Each starts, reports its endpoint, and stops; the supervisor orders them
(store, function, discovery up; the reverse down) and owns nothing else here.
The embedded store is a child process (store/moto_server.py) logging to
STATE_DIR/logs/store.log; it outlives a Ctrl-C so that the store can still be
exported on the way down, and dies with the supervisor if that is killed.
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path

from emulator.store.moto_server import EmbeddedS3

from .addresses import HOST
from .config import EmulatorConfig
from .function_targets import FUNCTION_TARGETS
from .processes import Child, child_env, start_child

log = logging.getLogger("wkp.supervisor")


@dataclass
class Services:
    config: EmulatorConfig
    state_dir: Path
    secret: str
    host: str = HOST  # the pod backend's advertised address: engines reach the services there
    s3: EmbeddedS3 | None = None
    s3_endpoint: str = ""
    function: object | None = None  # a function_targets target: aiohttp or lambda
    discovery: Child | None = None

    @property
    def function_endpoint(self) -> str:
        return self.function.endpoint if self.function else ""

    @property
    def store(self):
        """The function's store (with injected store faults applied)."""
        return self.function.store

    @property
    def faults(self):
        return self.function.faults

    @property
    def metrics(self):
        return self.function.metrics

    @property
    def discovery_api(self) -> str | None:
        return self.discovery.ready.get("api") if self.discovery else None

    def start_store(self) -> None:
        if self.config.store_endpoint:
            self.s3_endpoint = self.config.store_endpoint
        else:
            self.s3 = EmbeddedS3(self.host, self.config.store_port,
                                 log_path=self.state_dir / "logs" / "store.log").start()
            self.s3_endpoint = self.s3.endpoint

    async def start_function(self) -> None:
        """The [function] target's function (function_targets.py)."""
        self.function = await FUNCTION_TARGETS[self.config.function_target].start(self)

    async def start_discovery(self) -> None:
        if not self.config.discovery:
            return
        path = self.state_dir / "discovery.toml"
        path.write_text(discovery_toml(self.config, self.host))
        self.discovery = await start_child(
            "discovery", ["discovery", "--config", str(path)], env=child_env({}),
            log_path=self.state_dir / "logs" / "discovery.log")

    async def stop(self) -> None:
        if self.discovery is not None:
            await self.discovery.stop(10)
        if self.function is not None:
            await self.function.stop()
        if self.s3 is not None:
            await asyncio.to_thread(self.s3.stop)


def discovery_toml(cfg: EmulatorConfig, host: str = HOST) -> str:
    return (
        "[discovery]\n"
        f'node_id = "discovery-1"\n'
        f'bind = "{host}:{cfg.discovery_udp_port}"\n'
        f'api_bind = "{host}:{cfg.discovery_api_port}"\n'
        "seeds = []\n"
        f"gossip_interval_ms = {cfg.gossip_interval_ms}\n"
        f"suspicion_timeout_ms = {cfg.suspicion_timeout_ms}\n")
