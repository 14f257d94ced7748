"""wkp-emu for users' own test suites: a running emulator as a value, and scenario runs.

    from emulator.testing import start_emulator, run_scenario

    with start_emulator("wkp-emu.toml") as emu:      # or start_emulator() for the defaults
        requests.put(f"{emu.engine_url('relational-1')}/records/k", data=b'{"a": 1}')
        emu.control.post("/v1/engines/relational-1/recycle")
        report = run_scenario("scenarios/spot-interruption.toml")
        assert report["passed"], report["summary"]

The pytest plugin (emulator/pytest_plugin.py, loaded automatically once
wkp-emu is installed) wraps these as fixtures. Each emulator runs in a
temporary state dir on free loopback ports, so tests never collide with a
`wkp-emu up` of your own, and stops (engines flushed) when the block ends.
"""
from __future__ import annotations

import os
import shutil
import tomllib
from dataclasses import dataclass
from pathlib import Path

from emulator.api.client import ControlClient


@dataclass
class RunningEmulator:
    """A `wkp-emu up` started for tests: its endpoints, its secret and a control client."""
    control: ControlClient
    endpoint: str          # WEFTKIT_PERSIST_ENDPOINT
    secret: str            # WEFTKIT_PERSIST_SECRET
    s3_endpoint: str
    bucket: str
    discovery: str | None
    state_dir: Path
    _stack: object = None

    @property
    def env(self) -> dict[str, str]:
        """Variables for an engine or a client under test (as `wkp-emu exec` sets them)."""
        env = {"WEFTKIT_PERSIST_MODE": "serverless", "WEFTKIT_PERSIST_ENDPOINT": self.endpoint,
               "WEFTKIT_PERSIST_SECRET": self.secret, "WKP_EMU_CONTROL": self.control.base,
               "WKP_EMU_STATE_DIR": str(self.state_dir), "AWS_ENDPOINT_URL_S3": self.s3_endpoint,
               "WKP_EMU_S3_ENDPOINT": self.s3_endpoint, "WKP_EMU_BUCKET": self.bucket,
               "AWS_ACCESS_KEY_ID": "wkp-emu", "AWS_SECRET_ACCESS_KEY": "wkp-emu",
               "AWS_DEFAULT_REGION": "us-east-1"}
        if self.discovery:
            env["WKP_EMU_DISCOVERY"] = self.discovery
        return env

    def engines(self) -> list[dict]:
        return self.control.get("/v1/fleet")["engines"]

    def engine_url(self, name: str) -> str:
        """The data API of an engine slot (the same address across recycles)."""
        return f"http://127.0.0.1:{self.control.get(f'/v1/engines/{name}')['port']}"

    def stop(self) -> int:
        """Stop the stack as Ctrl-C would (engines flush first); its temp dir goes too."""
        from emulator.scenario.live import _terminate
        stack, self._stack = self._stack, None
        if stack is None:
            return 0
        code = _terminate(stack.popen)
        shutil.rmtree(stack.workdir, ignore_errors=True)
        return code

    def __enter__(self) -> "RunningEmulator":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def start_emulator(config: str | os.PathLike | None = None, *, toml: str | None = None) -> RunningEmulator:
    """Start a fresh emulator from a wkp-emu.toml (a path, or its text as `toml`; neither:
    the embedded defaults). Ports and the state dir are always the emulator's own."""
    from emulator.scenario.live import launch
    from emulator.supervisor.config import parse_config
    text = Path(config).read_text() if config is not None else (toml or "")
    parse_config(text, str(config or "wkp-emu.toml"))  # the same errors as `up`, before starting
    stack = launch(tomllib.loads(text))
    info = stack.info
    return RunningEmulator(stack.control, info["function"], info["secret"], info["s3_endpoint"],
                           info["bucket"], info.get("discovery"), Path(info["state_dir"]), stack)


def run_scenario(path: str | os.PathLike, *, attach_to: RunningEmulator | None = None,
                 out: str | os.PathLike | None = None, picture: bool = False) -> dict:
    """Run a scenario file (on a fresh stack, or on `attach_to`); its report as a dict,
    with the human summary under "summary". Writes the report files when `out` is given."""
    from emulator.scenario.live import run_live
    from emulator.scenario.loader import load_scenario
    from emulator.scenario.report import build_report, summary, write_report
    scenario = load_scenario(path)
    state = str(attach_to.state_dir) if attach_to else None
    run = run_live(scenario, attach=attach_to is not None, state_dir=state,
                   keep_state=Path(out) if out else None, log=lambda m: None)
    report = build_report(scenario, run.evidence, runner="live", wall_s=run.wall_s)
    if out:
        write_report(report, run.evidence, Path(out), picture=picture)
    return {**report, "summary": summary(report)}


def assert_scenario(path: str | os.PathLike, **kwargs) -> dict:
    """run_scenario, then fail with the summary (every verdict and its numbers) unless it passed."""
    report = run_scenario(path, **kwargs)
    if not report["passed"]:
        raise AssertionError(f"scenario {report['scenario']['name']} failed:\n{report['summary']}")
    return report
