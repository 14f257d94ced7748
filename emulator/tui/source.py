"""Where the TUI's data comes from and its actions go: the control API (live), or a
recorded feed (snapshot tests and benchmarks). Both answer the same four calls."""
from __future__ import annotations

import asyncio
import json
from typing import AsyncIterator

import aiohttp

from emulator.api.client import ControlError, NoEmulator


class LiveSource:
    """The control API of a running emulator, over HTTP on loopback."""

    def __init__(self, base: str) -> None:
        self.base = base.rstrip("/")
        self._http: aiohttp.ClientSession | None = None

    def _session(self) -> aiohttp.ClientSession:
        if self._http is None or self._http.closed:
            self._http = aiohttp.ClientSession(
                auto_decompress=False,
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=5, sock_read=None))
        return self._http

    async def send(self, method: str, path: str, body: dict | None = None, timeout: float = 120):
        """The JSON answer; ControlError with the API's message, NoEmulator if it is gone."""
        try:
            async with self._session().request(method, self.base + path, json=body,
                                               timeout=aiohttp.ClientTimeout(total=timeout)) as resp:
                raw = await resp.read()
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
            raise NoEmulator(f"the emulator at {self.base} does not answer ({exc or type(exc).__name__})") from None
        try:
            data = json.loads(raw) if raw else {}
        except ValueError:
            data = {"error": raw.decode(errors="replace")}
        if resp.status >= 400:
            raise ControlError(resp.status, data.get("error", str(data)) if isinstance(data, dict) else str(data))
        return data

    async def get(self, path: str):
        return await self.send("GET", path, timeout=15)

    async def text(self, path: str) -> str:
        """A plain-text view (/metrics)."""
        try:
            async with self._session().get(self.base + path, timeout=aiohttp.ClientTimeout(total=15)) as resp:
                body = await resp.text()
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
            raise NoEmulator(f"the emulator at {self.base} does not answer ({exc})") from None
        if resp.status >= 400:
            raise ControlError(resp.status, body[:200])
        return body

    async def events(self, since: int = 0) -> AsyncIterator[dict]:
        """The event stream (server-sent events): history after `since`, then live."""
        try:
            async with self._session().get(f"{self.base}/v1/events?since={since}") as resp:
                if resp.status != 200:
                    raise ControlError(resp.status, (await resp.text())[:200])
                async for line in resp.content:
                    if line.startswith(b"data: "):
                        yield json.loads(line[6:])
        except (aiohttp.ClientError, OSError) as exc:
            raise NoEmulator(f"the event stream of {self.base} broke ({exc})") from None

    async def lines(self, path: str) -> AsyncIterator[str]:
        """A streaming text endpoint (an engine's log with ?follow=1), chunk by chunk."""
        try:
            async with self._session().get(self.base + path) as resp:
                if resp.status != 200:
                    raise ControlError(resp.status, (await resp.text())[:200])
                async for chunk in resp.content.iter_any():
                    yield chunk.decode(errors="replace")
        except (aiohttp.ClientError, OSError) as exc:
            raise NoEmulator(f"{path}: {exc}") from None

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()


class RecordedSource:
    """A feed recorded from a live emulator (recording.py): GETs answer what was
    recorded, the stream replays its events and then stays open, actions are kept
    in `sent` and answered from `answers` (or refused, to exercise error paths)."""

    def __init__(self, recording: dict) -> None:
        self.recording = recording
        self.sent: list[tuple[str, str, dict | None]] = []
        self.answers: dict[str, object] = dict(recording.get("answers", {}))
        self.live: asyncio.Queue = asyncio.Queue()
        self.replayed = asyncio.Event()  # views answer after the events: a fixed order

    async def send(self, method: str, path: str, body: dict | None = None, timeout: float = 0):
        self.sent.append((method, path, body))
        answer = self.answers.get(f"{method} {path}")
        if isinstance(answer, dict) and "error" in answer:
            raise ControlError(answer.get("status", 409), answer["error"])
        return answer if answer is not None else {}

    async def get(self, path: str):
        await self.replayed.wait()
        views = self.recording.get("views", {})
        if path not in views:
            raise ControlError(404, f"not recorded: {path}")
        return views[path]

    async def text(self, path: str) -> str:
        return str(await self.get(path))

    async def events(self, since: int = 0) -> AsyncIterator[dict]:
        for event in self.recording.get("events", []):
            if event.get("seq", 0) > since:
                yield event
        self.replayed.set()
        while True:  # then whatever a test or benchmark pushes, like a live stream
            yield await self.live.get()

    async def lines(self, path: str) -> AsyncIterator[str]:
        name = path.split("/")[3] if path.count("/") >= 3 else ""
        yield self.recording.get("logs", {}).get(name, "")
        await asyncio.Event().wait()

    async def close(self) -> None:
        pass
