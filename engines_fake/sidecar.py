"""Container mode: the persistence sidecar (WEFTKIT_PERSIST_MODE=container).

Design. The seed's container mode keeps "a long-running weftkit/persistence
sidecar image" that "mediates between the engine and a central store". In the
emulator each engine starts its own sidecar process on loopback and stops it
when it exits; the sidecar IS a WKP-1 function (emulator.function, the same
code as `wkp-emu function`) writing straight to the central S3 store
(WEFTKIT_PERSIST_STORE_ENDPOINT / _BUCKET). Why this shape:

- The engine speaks the same WKP-1 contract in both modes, so the one engine
  machine (retries, 409, 413, shutdown budget) covers both; only the endpoint
  differs. That is what "every engine supports both modes" asks.
- Straight to S3, not relayed to a central function: a relay would add a hop
  and a second retry loop whose answers (202 then a later 409?) could not be
  passed back honestly. The store rules (chain heads, parts, idempotency,
  takeover claims) are the function's, reused, so both modes store the same
  object layout and either can restore what the other wrote.
- One sidecar per engine, bound to 127.0.0.1 with a per-pair random secret
  (unless WEFTKIT_PERSIST_SECRET is set): nothing else can push as this engine.
- Started and stopped with its engine: the engine's final flush goes through
  the sidecar before the engine stops it; if the engine is SIGKILLed, the
  sidecar sees its stdin (a pipe from the engine) close and exits too, so no
  orphan outlives its engine.

If WEFTKIT_PERSIST_ENDPOINT is set in container mode, the engine uses that
running sidecar/bridge instead of starting one (the Kubernetes pattern, where
the platform runs the sidecar container).
"""
from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import threading
from dataclasses import dataclass

READY_TIMEOUT_S = 30.0


class SidecarError(RuntimeError):
    pass


@dataclass
class Sidecar:
    process: asyncio.subprocess.Process
    endpoint: str
    store: str
    bucket: str

    def describe(self) -> dict:
        return {"pid": self.process.pid, "endpoint": self.endpoint, "store": self.store,
                "bucket": self.bucket}

    async def stop(self) -> None:
        if self.process.returncode is None:
            self.process.terminate()
            try:
                await asyncio.wait_for(self.process.wait(), 10)
            except asyncio.TimeoutError:
                self.process.kill()
                await self.process.wait()


async def start_sidecar(*, store: str, bucket: str, secret: str) -> Sidecar:
    env = dict(os.environ, WKP_SIDECAR_SECRET=secret, WKP_SIDECAR_STORE=store,
               WKP_SIDECAR_BUCKET=bucket)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "engines_fake.sidecar", stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, env=env)
    try:
        line = await asyncio.wait_for(proc.stdout.readline(), READY_TIMEOUT_S)
        ready = json.loads(line)
    except (asyncio.TimeoutError, ValueError) as exc:
        proc.kill()
        await proc.wait()
        raise SidecarError(f"persistence sidecar did not start: {exc!r}") from None
    return Sidecar(proc, ready["endpoint"], store, bucket)


# ---------------------------------------------------------------- the sidecar process


async def _serve() -> int:
    from emulator.function.config import FunctionConfig  # the function, reused as is
    from emulator.function.runner import start_function

    config = FunctionConfig(secret=os.environ["WKP_SIDECAR_SECRET"],
                            s3_endpoint=os.environ["WKP_SIDECAR_STORE"],
                            bucket=os.environ.get("WKP_SIDECAR_BUCKET", "wkp-emu"))
    running = await start_function(config, "127.0.0.1", 0)
    print(json.dumps({"endpoint": running.endpoint, "pid": os.getpid()}), flush=True)
    loop, stop = asyncio.get_running_loop(), asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    def watch_parent():  # EOF on stdin: the engine is gone, whatever killed it
        sys.stdin.buffer.read()
        loop.call_soon_threadsafe(stop.set)
    threading.Thread(target=watch_parent, daemon=True).start()
    await stop.wait()
    await running.stop()
    return 0


def main() -> int:
    return asyncio.run(_serve())


if __name__ == "__main__":
    sys.exit(main())
