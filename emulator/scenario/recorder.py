"""Recording a running stack: its event stream and samples of its counters.

Two daemon threads read the control API while a scenario runs: one follows
the server-sent events (`GET /v1/events`), one samples the function's counters
and discovery's member states twice a second. Both only read.
"""
from __future__ import annotations

import http.client
import json
import threading
import time
from urllib.parse import urlsplit

from emulator.api.client import ControlClient, ControlError, NoEmulator

SAMPLE_INTERVAL_S = 0.5


class EventRecorder(threading.Thread):
    def __init__(self, control_url: str, since: int = 0):
        super().__init__(daemon=True, name="scenario-events")
        self.url, self.since = urlsplit(control_url), since
        self.events: list[dict] = []
        self._halt = threading.Event()
        self._conn: http.client.HTTPConnection | None = None

    def run(self) -> None:
        while not self._halt.is_set():
            try:
                self._follow()
            except (OSError, http.client.HTTPException, ValueError):
                pass
            if self._halt.wait(0.2):
                return

    def _follow(self) -> None:
        self._conn = http.client.HTTPConnection(self.url.hostname, self.url.port, timeout=30)
        since = self.events[-1]["seq"] if self.events else self.since
        self._conn.request("GET", f"/v1/events?since={since}")
        response = self._conn.getresponse()
        data = None
        for raw in response:
            if self._halt.is_set():
                return
            line = raw.decode().rstrip("\r\n")
            if line.startswith("data: "):
                data = json.loads(line[6:])
            elif not line and data is not None:
                self.events.append(data)
                data = None

    def stop(self) -> None:
        self._halt.set()
        if not self.is_alive():
            return
        if self._conn is not None and self._conn.sock is not None:
            try:
                self._conn.sock.shutdown(2)
            except OSError:
                pass
        self.join(5)


class Sampler(threading.Thread):
    def __init__(self, client: ControlClient, discovery: bool):
        super().__init__(daemon=True, name="scenario-samples")
        self.client, self.discovery = client, discovery
        self.function: list[tuple[float, dict]] = []
        self.members: list[tuple[float, dict]] = []
        self._halt = threading.Event()

    def sample(self) -> None:
        try:
            self.function.append((time.time(), self.client.get("/v1/function")))
            if self.discovery:
                reply = self.client.get("/v1/discovery")
                self.members.append((time.time(), {m["node_id"]: m["status"]
                                                   for m in reply.get("members", [])}))
        except (ControlError, NoEmulator, OSError, ValueError):
            pass  # a missed sample: the next one carries the counters forward

    def run(self) -> None:
        while not self._halt.wait(SAMPLE_INTERVAL_S):
            self.sample()

    def stop(self) -> None:
        self._halt.set()
        if self.is_alive():
            self.join(5)
