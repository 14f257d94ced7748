"""The live runner: a scenario on a real stack (`wkp-emu up`), driven through the control API.

Phases, as a desmod model has them: build (start a fresh stack in a temporary
state dir from the scenario's tables, or attach to a running one), run (the
steps at their times while a recorder follows events and samples counters),
collect (on a stack it started, scale every kind to zero so each engine's final
flush and exit status are on record, then stop it; read every slot's witness),
judge (expectations.py) and report (report.py, picture.py).
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from emulator.api.client import ControlClient, ControlError, NoEmulator, control_url
from emulator.supervisor.processes import TIE_TO_PARENT

from . import toml_out
from .actions import StepFailed, carry_out
from .evidence import Evidence, StepRecord
from .model import Scenario, Step
from .recorder import EventRecorder, Sampler

READY_TIMEOUT_S = 120
STOP_TIMEOUT_S = 120


class RunnerError(RuntimeError):
    """The stack could not be started or reached: no verdict is possible."""


@dataclass
class Stack:
    control: ControlClient
    state_dir: Path
    popen: subprocess.Popen | None = None   # None when attached: never stopped by us
    workdir: Path | None = None
    info: dict | None = None                 # endpoints, secret, bucket (the ready event)

    @property
    def owned(self) -> bool:
        return self.popen is not None


def loopback_config(tables: dict, state_dir: Path) -> str:
    """wkp-emu.toml from config tables, on free loopback ports, in a state dir of its own."""
    tables = json.loads(json.dumps(tables))
    tables["emulator"] = {**tables.get("emulator", {}), "state_dir": str(state_dir),
                          "control_port": 0, "headless": True}
    tables["store"] = {**tables.get("store", {}), "port": 0}
    tables.setdefault("function", {})["port"] = 0
    tables.setdefault("discovery", {}).update(udp_port=0, api_port=0)
    return toml_out.dumps(tables)


def stack_config(scenario: Scenario, state_dir: Path) -> str:
    """The wkp-emu.toml of the scenario's stack: its tables, on free loopback ports."""
    return loopback_config(dict(scenario.emulator_tables), state_dir)


def start_stack(scenario: Scenario, log: Callable[[str], None]) -> Stack:
    return launch(dict(scenario.emulator_tables), log)


def launch(tables: dict, log: Callable[[str], None] = lambda m: None) -> Stack:
    """A fresh `wkp-emu up` in a temporary directory; returns once it is ready."""
    workdir = Path(tempfile.mkdtemp(prefix="wkp-emu-"))
    state = workdir / "state"
    config = workdir / "wkp-emu.toml"
    config.write_text(loopback_config(tables, state))
    out, err = (workdir / "up.jsonl").open("wb"), (workdir / "up.stderr").open("wb")
    # Its own session (a Ctrl-C to the runner does not reach it mid-flush; we stop it), but
    # tied to us: if the runner is SIGKILLed, the stack and its engines go too.
    popen = subprocess.Popen([sys.executable, "-m", "emulator.cli", "up", "--headless", "--fresh",
                              "--config", str(config)], stdout=out, stderr=err,
                             stdin=subprocess.DEVNULL, start_new_session=True,
                             preexec_fn=TIE_TO_PARENT)
    log(f"starting the stack (state in {state})")
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        ready = _ready_event(workdir / "up.jsonl")
        if ready:
            return Stack(ControlClient(ready["control"]), state, popen, workdir, ready)
        if popen.poll() is not None:
            break
        time.sleep(0.2)
    _terminate(popen)
    tail = (workdir / "up.stderr").read_text(errors="replace")[-2000:]
    shutil.rmtree(workdir, ignore_errors=True)
    raise RunnerError(f"the stack did not start (wkp-emu up exited {popen.returncode}):\n{tail}")


def _ready_event(path: Path) -> dict | None:
    for line in path.read_text(errors="replace").splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if event.get("kind") == "emulator.ready":
            return event["data"]
    return None


def attach_stack(state_dir: str | None) -> Stack:
    try:
        url = control_url(state_dir)
        client = ControlClient(url)
        info = client.get("/v1/info")
    except (NoEmulator, ControlError) as exc:
        raise RunnerError(str(exc)) from None
    return Stack(client, Path(info["state_dir"]))


def _terminate(popen: subprocess.Popen) -> int:
    if popen.poll() is None:
        popen.send_signal(signal.SIGTERM)
    try:
        return popen.wait(STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(popen.pid, signal.SIGKILL)
        return popen.wait()


@dataclass
class Run:
    scenario: Scenario
    evidence: Evidence
    attached: bool
    wall_s: float


def run_steps(stack: Stack, scenario: Scenario, t0: float, log) -> list[StepRecord]:
    records, previous_end = [], 0.0
    for step in scenario.steps:
        planned = step.at_s if step.at_s is not None else previous_end + (step.after_s or 0.0)
        time.sleep(max(0.0, t0 + planned - time.time()))
        started = time.time() - t0
        log(f"t={started:6.1f}s  step {step.index}: {step.describe()}")
        engines, result, error = (), None, ""
        try:
            engines, result = carry_out(stack.control, step, scenario.seed)
        except (StepFailed, ControlError, NoEmulator) as exc:
            error = str(exc)
            log(f"           step {step.index} failed: {error}")
        previous_end = time.time() - t0
        records.append(StepRecord(step.index, step.action, step.describe(), round(planned, 3),
                                  round(started, 3), round(previous_end, 3), not error,
                                  tuple(engines), error, result))
    return records


def _collect_witness(state_dir: Path) -> tuple[dict, dict]:
    witness, recoveries = {}, {}
    root = state_dir / "witness"
    for slot in sorted(root.iterdir()) if root.is_dir() else ():
        witness[slot.name] = tuple(_jsonl(slot / "witness.jsonl"))
        recoveries[slot.name] = tuple(_jsonl(slot / "recoveries.jsonl"))
    return witness, recoveries


def _jsonl(path: Path) -> list[dict]:
    out = []
    if path.exists():
        for line in path.read_text(errors="replace").splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                break  # a torn last line
    return out


def _ledger_counts(stack: Stack) -> dict[str, dict[str, int]]:
    """Each running engine's ledger (GET /ledger on its data API), counted by event."""
    out = {}
    for engine in stack.control.get("/v1/fleet")["engines"]:
        if engine["state"] != "running" or not engine.get("port"):
            continue
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{engine['port']}/ledger", timeout=10) as resp:
                entries = json.loads(resp.read())["entries"]
        except (OSError, ValueError, KeyError):
            continue  # it stopped meanwhile: its witness still tells
        out[engine["name"]] = dict(Counter(e.get("event", "?") for e in entries))
    return out


def _wind_down(stack: Stack, log) -> None:
    """Stop every engine as the platform would (scale to zero), so final flushes are on record."""
    engines = stack.control.get("/v1/fleet")["engines"]
    for kind in sorted({e["kind"] for e in engines}):
        try:
            stack.control.post(f"/v1/fleet/{kind}/scale", {"replicas": 0})
        except ControlError as exc:
            log(f"scaling {kind} to zero at the end failed: {exc}")


def run_live(scenario: Scenario, *, attach: bool = False, state_dir: str | None = None,
             keep_state: Path | None = None, log: Callable[[str], None] = print) -> Run:
    from .loader import require_live
    require_live(scenario)  # sim-only settings are refused, never ignored
    begun = time.time()
    stack = attach_stack(state_dir) if attach else start_stack(scenario, log)
    recorder = sampler = None
    try:
        since = 0
        if attach:
            since = max((e.get("seq", 0) for e in _history(stack)), default=0)
        recorder = EventRecorder(stack.control.base, since)
        recorder.start()
        sampler = Sampler(stack.control, scenario.config.discovery)
        sampler.sample()
        t0 = time.time()
        sampler.start()
        log(f"t=   0.0s  scenario {scenario.name!r} begins ({scenario.duration_s:g}s)")
        steps = run_steps(stack, scenario, t0, log)
        time.sleep(max(0.0, t0 + scenario.duration_s - time.time()))
        log(f"t={time.time() - t0:6.1f}s  timeline done" + ("; stopping every engine" if stack.owned else ""))
        ledgers = _ledger_counts(stack)
        if stack.owned:
            _wind_down(stack, log)
        sampler.stop()
        sampler.sample()
        end = time.time()
        time.sleep(0.5)  # let the event stream deliver the last events
        recorder.stop()
        witness, recoveries = _collect_witness(stack.state_dir)
        evidence = Evidence(t0, end, tuple(recorder.events), tuple(steps), witness, recoveries,
                            tuple(sampler.function), tuple(sampler.members), ledgers)
    finally:  # the stack goes first: nothing below may leave a stack of ours running
        if stack.owned:
            _terminate(stack.popen)
        for thread in (sampler, recorder):
            if thread is not None:
                thread.stop()
        if stack.owned:
            if keep_state is not None:
                _keep(stack, keep_state)
            shutil.rmtree(stack.workdir, ignore_errors=True)
    return Run(scenario, evidence, attach, round(time.time() - begun, 1))


def _history(stack: Stack) -> list[dict]:
    events = []
    for raw in stack.control.stream("/v1/events?once=1"):
        line = raw.decode().strip()
        if line.startswith("data: "):
            events.append(json.loads(line[6:]))
    return events


def _keep(stack: Stack, where: Path) -> None:
    """Engine logs and the stack's own output, for reading a failed run."""
    where.mkdir(parents=True, exist_ok=True)
    logs = stack.state_dir / "logs"
    if logs.is_dir():
        shutil.copytree(logs, where / "logs", dirs_exist_ok=True)
    for name in ("up.jsonl", "up.stderr", "wkp-emu.toml"):
        if (stack.workdir / name).exists():
            shutil.copy(stack.workdir / name, where / name)
