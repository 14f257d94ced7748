"""Run a scenario file on the simulated stack: `simulate(scenario) -> SimRun`.

The same phases as the live runner (emulator/scenario/live.py): build the
fleet, run the steps at their times, let the timeline run out, read each
engine's ledger, scale every kind to zero so final flushes and exit statuses
are on record, then hand over evidence in the live evidence.json shape, which
the same measures and verdicts judge. Time is virtual: time zero is when the
initial fleet serves, every time in the evidence is seconds on the simulated
clock (the live runner's are wall-clock), and the same scenario and seed give
the same evidence, byte for byte.

Each step action is carried out as the control API would (actions.py), with
the supervisor's policies; a step takes the virtual time its effects take
(a recycle lasts until the new pod serves). Besides evidence, `SimRun.counts`
holds what costs are computed from.
"""
from __future__ import annotations

import contextlib
import gc
import math
import time
from dataclasses import dataclass, field, replace

from emulator.supervisor.faults import function_fault
from emulator.scenario.evidence import Evidence, StepRecord
from emulator.scenario.model import Scenario, Step
from emulator.supervisor.fleet import Slot, initial_slots, rolling_order, scale_plan
from emulator.supervisor.policy import wipes_volume

from .engine_start import StartTimes, start_times
from .model.clock import drawn_offset
from .model.function import ServiceTimes
from .model.network import Network, from_table
from .model.world import SimOptions, World
from .platform_world import platform_world  # the platform, spot, autoscaling, SWIM discovery

READY_LAG_S = 0.001       # from the last initial pod serving to time zero
POLL_S = 0.1              # how often a wait step looks (the live runner polls every 0.2 s)
WITNESS_BUDGET = 200_000  # witness entries kept by default (see options_for)
MAX_SAMPLES = 2000        # function counter samples over a long run


class StepFailed(RuntimeError):
    pass


@dataclass
class SimRun:
    scenario: Scenario
    evidence: Evidence
    counts: dict
    wall_s: float
    seed: int
    attached: bool = False
    options: dict = field(default_factory=dict)


def _expected_writes(scenario: Scenario, fleet: dict[str, int]) -> float:
    from engines_fake.kinds import PROFILES
    total = 0.0
    for kind, n in fleet.items():
        spec = scenario.config.workload.get(kind)
        if spec is None:
            continue
        rate = PROFILES[kind].default_rate if getattr(spec, "auto", False) else getattr(spec, "rate", 0) or 0
        total += n * float(rate) * scenario.duration_s
    return total


def fleet_sizes(scenario: Scenario) -> dict[str, int]:
    """Replicas per kind at time zero ([sim.fleet] is already in the config's fleet)."""
    return {kind: spec.replicas for kind, spec in scenario.config.fleet.items()}


@dataclass(frozen=True)
class RunOptions(SimOptions):
    """The world's options with the engines' calibrated start times by concurrency (sim/engine_start.py),
    which the platform world draws each pod's start from."""
    engine_starts: StartTimes | None = None


def options_for(scenario: Scenario, calibration: dict | None = None) -> SimOptions:
    """[sim] settings, with defaults sized so the witness stays within WITNESS_BUDGET entries."""
    sim = scenario.sim
    fleet = fleet_sizes(scenario)
    engines = max(1, sum(fleet.values()))
    writes = _expected_writes(scenario, fleet)
    witness = sim.get("witness", "auto")
    if witness == "auto":
        witness = "writes" if writes <= WITNESS_BUDGET else "batches"
    witnessed = sim.get("witnessed")
    if witnessed is None and witness == "batches":
        per_engine = 2 * scenario.duration_s / 60  # a batch and an ack per tick, at most every minute
        witnessed = max(1, min(engines, int(WITNESS_BUDGET / max(per_engine, 1))))
        witnessed = None if witnessed >= engines else witnessed
    net = sim.get("network", {})
    network = from_table(net) if net else Network(latency_s=(calibration or {}).get("latency_s", 0.001))
    sample = sim.get("sample_interval", max(0.5, scenario.duration_s / MAX_SAMPLES))
    return RunOptions(witness=witness, witnessed=witnessed, sample_s=sample,
                      start_delay_s=float((calibration or {}).get("engine_start_s", 0.5)),
                      stop_delay_s=float((calibration or {}).get("engine_stop_s", 0.0)),
                      network=network, times=ServiceTimes.from_calibration(calibration),
                      engine_starts=start_times(calibration) if calibration else None)


def simulate(scenario: Scenario, *, seed: int | None = None, calibration: dict | None = None,
             clock_at_zero: float | None = None) -> SimRun:
    """Run the scenario on virtual time. `clock_at_zero` (else the file's `[sim] clock_at_zero`)
    is the wall-clock time (Unix seconds) the engines' schedules read at time zero; without
    one, the clock is drawn from the seed (sim/model/clock.py)."""
    begun = time.perf_counter()
    seed = scenario.seed if seed is None else seed
    options = options_for(scenario, calibration)
    if clock_at_zero is None:
        clock_at_zero = scenario.sim.get("clock_at_zero")
    zero_at = 0.0
    with _collector_paused():
        if clock_at_zero is None:
            offset = drawn_offset(seed)
        else:
            # Time zero is when the initial fleet serves, which the run itself decides: boot the
            # fleet once to learn when (nothing before time zero reads the clock's phase but the
            # first ticks of pods that served early), then run with the clock set from it.
            zero_at = _time_zero(scenario, seed, options)
            offset = float(clock_at_zero) - zero_at
        options = replace(options, clock_offset_s=offset)
        world = platform_world(scenario, seed=seed, options=options)
        run = _Run(world, scenario, zero_not_before=zero_at)
        world.env.process(run.main())
        world.env.run()
    evidence = run.evidence()
    counts = _counts(world, evidence)
    return SimRun(scenario, evidence, counts, round(time.perf_counter() - begun, 3), seed,
                  options={"witness": options.witness, "witnessed": options.witnessed,
                           "clock_at_zero": round(run.t0 + offset, 3)})


def _time_zero(scenario: Scenario, seed: int, options: SimOptions) -> float:
    """When time zero falls on the virtual clock: the initial fleet booted, the timeline not run."""
    world = platform_world(scenario, seed=seed, options=options)
    run = _Run(world, scenario, boot_only=True)
    world.env.run(until=world.env.process(run.main()))
    return run.t0


@contextlib.contextmanager
def _collector_paused():
    """The cyclic garbage collector off while the model runs: a month's run allocates
    millions of short-lived events and keeps millions of evidence entries, so the
    collector's passes over the survivors cost a sixth of the run, and the model makes
    almost no reference cycles (its garbage goes by reference counting)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class _Run:
    def __init__(self, world: World, scenario: Scenario, *, zero_not_before: float = 0.0,
                 boot_only: bool = False):
        self.world, self.scenario = world, scenario
        self.zero_not_before, self.boot_only = zero_not_before, boot_only
        self.env = world.env
        self.t0 = 0.0
        self.steps: list[StepRecord] = []
        self.ledgers: dict = {}
        self.end = 0.0

    def rel(self) -> float:
        return round(self.env.now - self.t0, 3)

    # ---- phases ------------------------------------------------------------------------
    def main(self):
        w, sc = self.world, self.scenario
        pods = []
        sizes = fleet_sizes(sc)
        for kind, n in sizes.items():
            for i in range(1, n + 1):
                pods.append(w.start_pod(Slot(kind, i), wipe=True))
        if pods:
            yield self.env.all_of([p.ready for p in pods])
        # Time zero is when the runner sees the stack ready, a moment after the last initial
        # pod serves (as live): boots of the initial fleet are before it, not evidence.
        yield self.env.timeout(READY_LAG_S)
        if self.env.now < self.zero_not_before:  # the clock was set for a time zero this late
            yield self.env.timeout(self.zero_not_before - self.env.now)
        self.t0 = self.env.now
        if self.boot_only:
            return
        w.begin(self)  # spot schedule and autoscalers start at time zero
        w.sample_function()
        w.sample_members()
        self.env.process(self._sampler())
        previous_end = 0.0
        for step in sc.steps:
            planned = step.at_s if step.at_s is not None else previous_end + (step.after_s or 0.0)
            wait = self.t0 + planned - self.env.now
            if wait > 0:
                yield self.env.timeout(wait)
            started = self.rel()
            engines, result, error = (), None, ""
            try:
                engines, result = yield from self.carry_out(step)
            except StepFailed as exc:
                error = str(exc)
            previous_end = self.rel()
            self.steps.append(StepRecord(step.index, step.action, step.describe(), round(planned, 3),
                                         started, previous_end, not error, tuple(engines), error, result))
        rest = self.t0 + sc.duration_s - self.env.now
        if rest > 0:
            yield self.env.timeout(rest)
        self.ledgers = {p.name: dict(sorted(p.volume.ledger.items())) for p in w.running()}
        for name in list(w.pods):
            w.cancel_replacement(name)
        for kind in sorted({p.kind for p in w.pods.values()}):  # kind by kind, as the live runner winds down
            stops = [w.stop_pod(p) for _, p in sorted(w.pods.items()) if p.kind == kind and p.state != "exited"]
            if stops:
                yield self.env.all_of(stops)
        w.sample_function()
        self.end = self.env.now
        self._done = True

    def _sampler(self):
        every = self.world.options.sample_s
        while not getattr(self, "_done", False):
            yield self.env.timeout(every)
            if getattr(self, "_done", False):
                return
            self.world.sample_function()

    def evidence(self) -> Evidence:
        w = self.world
        return Evidence(round(self.t0, 6), round(self.end, 6), tuple(w.events), tuple(self.steps),
                        {k: tuple(v) for k, v in sorted(w.witness.items())},
                        {k: tuple(v) for k, v in sorted(w.recoveries.items())},
                        tuple(w.function_samples), tuple(w.member_samples), self.ledgers)

    # ---- steps (emulator/scenario/actions.py, on the simulated stack) ------------------------
    def carry_out(self, step: Step):
        return (yield from ACTIONS[step.action](self, step.params, step))

    def _pod(self, name: str):
        pod = self.world.pods.get(name)
        if pod is None:
            raise StepFailed(f"unknown engine {name!r}")
        return pod

    def _start(self, slot: Slot, origin: str):
        return self.world.start_pod(slot, wipe=wipes_volume(self.world.platform, origin))

    def scale(self, p, step):
        w = self.world
        start, stop = scale_plan(w.live_slots(), p["kind"], p["replicas"])
        for slot in stop:
            w.cancel_replacement(slot.name)
        gone = [w.stop_pod(w.pods[s.name]) for s in stop]
        if gone:
            yield self.env.all_of(gone)
        for slot in stop:
            del w.pods[slot.name]
        started = [self._start(s, "scale") for s in start]
        if started:
            yield self.env.all_of([pod.ready for pod in started])
        w.emit("fleet.scaled", p["kind"], replicas=p["replicas"], started=[s.name for s in start],
               stopped=[s.name for s in stop])
        names = tuple(s.name for s in start) + tuple(s.name for s in stop)
        return names, {"kind": p["kind"], "replicas": p["replicas"], "started": [s.name for s in start],
                       "stopped": [s.name for s in stop]}

    def _recycle_one(self, name: str):
        w = self.world
        pod = self._pod(name)
        w.cancel_replacement(name)
        yield w.stop_pod(pod)
        new = self._start(pod.slot, "recycle")
        w.emit("engine.recycled", name, generation=new.generation,
               volume="empty" if wipes_volume(w.platform, "recycle") else "kept", instance_id=new.instance_id)
        yield new.ready
        return new

    def recycle(self, p, step):
        if "engine" in p:
            new = yield from self._recycle_one(p["engine"])
            return (p["engine"],), {"name": p["engine"], "state": new.state, "generation": new.generation}
        names = [s.name for s in rolling_order(s for s in self.world.live_slots() if s.kind == p["kind"])]
        if not names:
            raise StepFailed(f"no running {p['kind']} engines to recycle")
        if p.get("rolling"):
            for name in names:
                yield from self._recycle_one(name)
        else:
            yield self.env.all_of([self.env.process(self._recycle_one(n)) for n in names])
        return tuple(names), {"engines": [{"name": n} for n in names]}

    def kill(self, p, step):
        pod = self._pod(p["engine"])
        if pod.state not in ("running", "stopping"):
            raise StepFailed(f"{p['engine']} is not running ({pod.state})")
        self.world.kill_pod(pod)
        return (p["engine"],), {"name": p["engine"], "state": "killed", "exit_code": pod.exit_code}
        yield  # a generator like the others

    def restart(self, p, step):
        w = self.world
        pod = self._pod(p["engine"])
        w.cancel_replacement(p["engine"])
        yield w.stop_pod(pod)
        new = self._start(pod.slot, "restart")
        yield new.ready
        return (p["engine"],), {"name": p["engine"], "state": new.state, "generation": new.generation}

    def fault(self, p, step):
        w = self.world
        spec = dict(p["fault"])
        target = spec["target"]
        if target in ("function", "store"):
            fault = w.faults.add(function_fault(spec))
            result = {"target": target, **fault.to_json()}
        elif target == "engine":
            name = spec["engine"]
            if "clock_skew_s" in spec:
                pod = self._pod(name)
                pod.caller.clock_skew_s = float(spec["clock_skew_s"])
                result = {"engine": name, "clock_skew_s": spec["clock_skew_s"]}
            else:
                w.partition(name, bool(spec["discovery_partitioned"]))
                result = {"engine": name, "discovery_partitioned": spec["discovery_partitioned"]}
        else:
            w.discovery_faults = {k: v for k, v in spec.items() if k != "target"}
            result = {"target": "discovery", **w.discovery_faults}
        w.emit("fault.set", target, **{k: v for k, v in result.items() if k != "target"})
        return ((spec["engine"],) if "engine" in spec else ()), result
        yield

    def clear_faults(self, p, step):
        w = self.world
        cleared = {"function": w.faults.clear(), "engines": 0, "discovery": 0}
        for pod in w.pods.values():
            if pod.caller.clock_skew_s:
                pod.caller.clock_skew_s = 0.0
                cleared["engines"] += 1
        for name in sorted(w.partitioned):
            w.partition(name, False)
            cleared["engines"] += 1
        w.emit("fault.cleared", "all", **cleared)
        return (), cleared
        yield

    def reset(self, p, step):
        w = self.world
        w.account_store()
        w.function.reset_store()
        w.forget_witnesses()
        w.emit("store.reset", "store")
        return (), {"reset": True}
        yield

    def write_burst(self, p, step):
        w = self.world
        if "engine" in p:
            targets = [w.pods[p["engine"]]] if p["engine"] in w.pods else []
        else:
            targets = [pod for pod in w.running() if pod.kind == p["kind"]]
        if not targets:
            raise StepFailed(f"no running engine to write to ({p.get('engine') or p.get('kind')})")
        acknowledged, refused = {}, {}
        for pod in targets:
            ok = pod.burst(p["writes"])
            acknowledged[pod.name], refused[pod.name] = (p["writes"], 0) if ok else (0, p["writes"])
        return tuple(acknowledged), {"acknowledged": acknowledged, "refused": refused}
        yield

    def wait(self, p, step):
        w = self.world
        deadline = self.env.now + p["timeout"]
        until = p["until"]
        if until == "durable":
            marks = {}
            for pod in w.running():
                if p.get("engine") in (None, pod.name) and p.get("kind") in (None, pod.kind):
                    pod.accrue()
                    marks[pod.name] = pod.volume.lsn
            if not marks:
                raise StepFailed("no running engine to wait for")
            holds = lambda: all(_durable(w, name) >= lsn for name, lsn in marks.items())  # noqa: E731
        else:
            holds = lambda: CONDITIONS[until](w, p)  # noqa: E731
        while True:
            if holds():
                return ((p["engine"],) if "engine" in p else ()), {"until": until}
            if self.env.now + POLL_S > deadline + 1e-9:
                yield self.env.timeout(max(0.0, deadline - self.env.now))
                raise StepFailed(f"{until} did not hold within {p['timeout']:g}s")
            yield self.env.timeout(POLL_S)


def _durable(w: World, name: str) -> int:
    pod = w.pods.get(name)
    if pod is None or pod.state != "running":
        return -1
    d = pod.machine.state.durable
    return d.seq if d else 0


def _member(w: World, p) -> str | None:
    pod = w.pods.get(p["engine"])
    return w.members.get(pod.instance_id) if pod is not None else None


CONDITIONS = {
    "engine_running": lambda w, p: p["engine"] in w.pods and w.pods[p["engine"]].state == "running",
    "engine_restored": lambda w, p: p["engine"] in w.pods and w.pods[p["engine"]].state == "running"
    and w.pods[p["engine"]].boot == "restored",
    "member_failed": lambda w, p: _member(w, p) == "failed",
    "member_alive": lambda w, p: _member(w, p) == "alive",
    "cursor_reached": lambda w, p: _durable(w, p["engine"]) >= p["durable_lsn"],
}

ACTIONS = {
    "scale": _Run.scale, "recycle": _Run.recycle, "kill": _Run.kill, "restart": _Run.restart,
    "fault": _Run.fault, "clear_faults": _Run.clear_faults, "reset": _Run.reset,
    "write_burst": _Run.write_burst, "wait": _Run.wait,
}


def _counts(world: World, ev: Evidence) -> dict:
    """What costs are computed from (sim/costs.py): requests, bytes, store calls, time integrals."""
    fn = world.function
    world.account_store()
    span = max(ev.end - ev.start, 0.0)
    return {
        "duration_s": round(span, 6),
        "requests": {f"{p} {s}": n for (p, s), n in sorted(fn.requests.items(), key=lambda i: (i[0][0], str(i[0][1])))},
        "bytes_in": dict(sorted(fn.bytes_in.items())),
        "bytes_out": dict(sorted(fn.bytes_out.items())),
        "store_calls": {op: world.store.calls.get(op, 0) for op in ("PUT", "GET", "LIST", "HEAD", "DELETE")},
        "store_bytes_end": world.store.bytes_stored,
        "store_objects_end": len(world.store) + world.store.retired,
        "store_gb_months": round(world.gb_seconds / 1e9 / (30 * 86400), 9),
        "engine_seconds": {k: round(v, 3) for k, v in sorted(world.engine_seconds.items())},
        "function_busy_s": round(fn.busy_s, 6),
        "pushes": sum(n for (p, s), n in fn.requests.items() if p == "/persist" and s in (200, 202)),
    }


def engine_hours(counts: dict) -> float:
    return math.fsum(counts["engine_seconds"].values()) / 3600
