"""Finding and calling a running emulator's control API (for the CLI and the TUI)."""
from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from pathlib import Path

STATE_FILE = "emulator.json"


class NoEmulator(RuntimeError):
    pass


class ControlError(RuntimeError):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def state_dir(explicit: str | None = None) -> Path:
    return Path(explicit or os.environ.get("WKP_EMU_STATE_DIR") or ".wkp-emu")


def control_url(explicit_dir: str | None = None) -> str:
    env = os.environ.get("WKP_EMU_CONTROL")
    if env and not explicit_dir:
        return env.rstrip("/")
    path = state_dir(explicit_dir) / STATE_FILE
    try:
        return json.loads(path.read_text())["control"].rstrip("/")
    except (OSError, ValueError, KeyError):
        raise NoEmulator(f"no emulator running in {path.parent} (start one with `wkp-emu up`, "
                         "or pass --state-dir)") from None


class ControlClient:
    def __init__(self, base: str, timeout: float = 60):
        self.base, self.timeout = base, timeout

    def request(self, method: str, path: str, payload=None, *, raw: bool = False):
        data = json.dumps(payload).encode() if payload is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"} if data else {})
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                body = resp.read()
        except urllib.error.HTTPError as exc:
            body = exc.read()
            try:
                message = json.loads(body).get("error", body.decode())
            except ValueError:
                message = body.decode(errors="replace")
            raise ControlError(exc.code, message) from None
        except (urllib.error.URLError, ConnectionError) as exc:
            raise NoEmulator(f"the emulator at {self.base} does not answer ({exc}); "
                             "it may have stopped") from None
        return body if raw else json.loads(body)

    def stream(self, path: str):
        """Yield raw lines of a streaming endpoint (logs -f, events)."""
        req = urllib.request.Request(self.base + path)
        try:
            with urllib.request.urlopen(req, timeout=3600) as resp:
                for line in resp:
                    yield line
        except urllib.error.HTTPError as exc:
            raise ControlError(exc.code, exc.read().decode(errors="replace")) from None
        except (urllib.error.URLError, ConnectionError) as exc:
            raise NoEmulator(f"the emulator at {self.base} does not answer ({exc})") from None

    def get(self, path):
        return self.request("GET", path)

    def post(self, path, payload=None):
        return self.request("POST", path, payload if payload is not None else {})

    def delete(self, path):
        return self.request("DELETE", path)
