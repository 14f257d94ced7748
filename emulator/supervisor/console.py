"""What `wkp-emu up` prints: a summary when ready, then events (human or JSON lines)."""
from __future__ import annotations

import json
import sys
import time


class Console:
    def __init__(self, headless: bool, out=None):
        self.headless = headless
        self.out = out or sys.stdout

    def _print(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    def ready(self, supervisor, health: dict) -> None:
        d = supervisor.describe()
        if self.headless:
            return  # the emulator.ready event carries the same facts as a JSON line
        engines = "\n".join(f"  {p.name:<14} pid {p.pid or '-':<7} port {p.port or '-':<6} "
                            f"instance {p.instance_id or '-'}  ({p.state})"
                            + (f"\n      {p.failure}" if p.name in health["failures"] else "")
                            for p in supervisor.pods.values()) or "  (none)"
        down = health["failures"]
        title = ("wkp-emu is up" if health["status"] == "running" else
                 f"wkp-emu is up, DEGRADED: {len(down)} of {len(supervisor.pods)} engines are not "
                 f"running ({', '.join(sorted(down))})")
        self._print(
            f"{title}\n"
            f"  function   {d['function']}   (WEFTKIT_PERSIST_ENDPOINT)\n"
            f"  secret     {d['secret']}   (WEFTKIT_PERSIST_SECRET)\n"
            f"  s3         {d['s3_endpoint']}  bucket {d['bucket']}\n"
            f"             aws --endpoint-url {d['s3_endpoint']} s3 ls --recursive s3://{d['bucket']}/\n"
            f"  discovery  {d['discovery'] or 'disabled'}\n"
            f"  control    {d['control']}   (wkp-emu status | scale | recycle | kill | fault | logs | down)\n"
            f"  state      {d['state_dir']}\n"
            f"engines:\n{engines}\n"
            "Ctrl-C stops everything (engines flush first).")

    async def follow(self, bus) -> None:
        if self.headless:
            for event in bus.history():
                self._print(event.to_json())
        queue = bus.subscribe()
        try:
            while True:
                event = await queue.get()
                if self.headless:
                    self._print(event.to_json())
                elif event.kind != "emulator.ready":
                    self._print(human(event))
        finally:
            bus.unsubscribe(queue)

    def stopped(self) -> None:
        if self.headless:
            self._print(json.dumps({"kind": "emulator.exited", "at": time.time()}))
        else:
            self._print("wkp-emu stopped")


def human(event) -> str:
    stamp = time.strftime("%H:%M:%S", time.localtime(event.at))
    details = " ".join(f"{k}={v}" for k, v in event.data.items() if v not in (None, "", [], {}))
    return f"{stamp} {event.kind:<18} {event.subject:<14} {details}"
