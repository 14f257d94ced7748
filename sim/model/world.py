"""The simulated stack: a fleet of pods, the function over an in-memory store, the platform.

`World` is what the live supervisor and its services are to the live runner:
it starts, stops, kills and replaces pods with the supervisor's own pure
policies (fleet.scale_plan, policy.after_exit, policy.wipes_volume), routes
faults to where the live control surface would, and records evidence in the
live runner's shapes: events like the control API's stream, each slot's
witness (acknowledged writes and pushes) and recovery reports, samples of the
function's counters and of discovery's members.

The witness costs memory per write, so how much is kept is an option
(SimOptions): every write (as live), one entry per batch of writes made between
two looks of the engine (stamped with the first write's time: the worst window
is exact, percentiles are over batches), and only for some engines of a big
fleet. Recovery reports never depend on it: each slot's highest written and
acknowledged lsn are counted for every engine.
"""
from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field, replace

import simpy
from simpy.events import NORMAL

from emulator.function.config import apply_profile
from emulator.function.faults import FaultTable
from emulator.protocol.function_instances import InstancePool
from emulator.protocol import layout
from emulator.protocol.engine_config import parse_engine_config
from emulator.protocol.function_rules import Limits
from emulator.supervisor.config import EmulatorConfig
from emulator.supervisor.fleet import Slot, engine_env
from emulator.supervisor.policy import (CRASHED, FAILED, KILLED, PodExit, after_exit,
                                        inherited_boot_failures)
from emulator.store.memory import MemoryStore

from .clock import OffsetSchedule
from .engine import Pod, Volume
from .function import Caller, ServiceTimes, SimFunction
from .network import Network

BATCH_POINTS = 4          # witness entries per batch of writes (SimOptions.witness = "batches")
SIGKILL_EXIT = -9          # what the live supervisor records for a pod it SIGKILLed
ENDPOINT = "http://127.0.0.1:8787"  # engines must be configured with one; nothing listens


@dataclass(frozen=True)
class SimOptions:
    witness: str = "writes"            # writes | batches: witness entries per write, or per batch
    witnessed: int | None = None       # engines (slots, in name order) whose witness is kept; None: all
    sample_s: float = 0.5              # function counter samples (the live sampler's 0.5 s)
    start_delay_s: float = 0.5         # process start to boot (the live fake engine's start time)
    stop_delay_s: float = 0.0          # a stopped engine's last effect to its process's exit (calibration)
    network: Network = Network()
    times: ServiceTimes = ServiceTimes()
    detect_s: float | None = None      # discovery: kill/partition to "failed" (None: from [discovery])
    clock_offset_s: float = 0.0        # the engines' schedules read virtual time + this (clock.py)


class _Call:
    """What SimPy's step needs of a triggered event (its callbacks, that it succeeded):
    two or three of these are scheduled per push round."""
    __slots__ = ("callbacks", "_ok")

    def __init__(self, fn):
        self.callbacks = [fn]
        self._ok = True


@dataclass
class SlotRecord:
    written: int = 0                   # highest lsn written in the slot's lineage
    acknowledged: int = 0              # highest lsn acknowledged by the function
    witnessed: bool = True


class World:
    def __init__(self, config: EmulatorConfig, *, seed: int, options: SimOptions = SimOptions(),
                 start_delay=None):
        self.env = simpy.Environment()
        self.config, self.seed, self.options = config, seed, options
        self.platform = config.platform
        self.rng = random.Random(f"{seed}:world")
        self.store = MemoryStore(clock=lambda: self.env.now)
        self.faults = FaultTable(seed=seed)
        limits, instances, platform = apply_profile(
            config.function_profile, limits=Limits(max_payload=config.max_payload,
                                                   max_inflight=config.max_inflight),
            instances={"instances_max": config.instances_max,
                       "instance_concurrency": config.instance_concurrency,
                       "keep_alive_s": config.keep_alive_s, "cold_start_ms": config.cold_start_ms},
            timeout_s=config.function_timeout_s)
        # As the live host builds its pool (emulator/function/instances.py InstanceHost). A pool
        # that can neither throttle (its instances hold more than max_inflight admits) nor delay
        # (no cold start) nor reap changes nothing: leave it out, it costs a third of a push.
        concurrency = instances.instance_concurrency or limits.max_inflight
        trivial = (concurrency >= limits.max_inflight and not instances.cold_start_ms
                   and instances.keep_alive_s is None)
        pool = None if trivial else InstancePool(limit=instances.instances_max,
                            per_instance_concurrency=instances.instance_concurrency or limits.max_inflight,
                            keep_alive_s=instances.keep_alive_s, cold_start_s=instances.cold_start_ms / 1000,
                            retry_after_s=instances.retry_after_s)
        self.function = SimFunction(
            self.store, limits=limits, faults=self.faults, network=options.network,
            rng=random.Random(f"{seed}:function"), times=options.times, pool=pool, platform=platform)
        self.start_delay = start_delay or (lambda slot, rng: options.start_delay_s)
        self.events: list[dict] = []
        self.pods: dict[str, Pod] = {}
        self.starting_pods = 0             # pods in `pods` still starting (Pod.state keeps it exact)
        self.volumes: dict[str, Volume] = {}
        self.generations: Counter = Counter()
        self.slots: dict[str, SlotRecord] = {}
        self._witnessed_slots = 0          # records with witnessed=True (counted, not recounted per start)
        self.witness: dict[str, list] = {}
        self.recoveries: dict[str, list] = {}
        self.members: dict[str, str] = {}
        self.member_samples: list = []
        self.function_samples: list = []
        self.partitioned: set[str] = set()
        self.engine_seconds: Counter = Counter()   # kind -> pod-seconds (starting to exit)
        self.pod_started: dict[str, float] = {}
        self._configs: dict = {}
        self._replacing: dict[str, int] = {}
        self.gb_seconds = 0.0                      # stored bytes integrated over time (byte-seconds)
        self._stored_at = (0.0, 0)
        detect = options.detect_s
        if detect is None:
            detect = 3 * config.gossip_interval_ms / 1000 + config.suspicion_timeout_ms / 1000
        self.detect_s = detect

    # ---- time -------------------------------------------------------------------------
    def at(self, delay: float, fn) -> None:
        """Call fn(event) after `delay`: scheduled exactly as a Timeout with one callback
        (same priority, same place in SimPy's order), without building a whole Event."""
        self.call(delay, _Call(fn))

    def call(self, delay: float, call) -> None:
        """Schedule a record made by the caller, as `at` schedules its _Call: `call` has the
        callbacks list and _ok flag SimPy's step reads. The pods' per-request answers and
        timers carry their pod and event on it instead of a closure (sim/model/engine.py)."""
        self.env.schedule(call, NORMAL, delay if delay > 0.0 else 0.0)

    def emit(self, kind: str, subject: str, /, **data) -> dict:
        event = {"kind": kind, "subject": subject, "data": data, "at": round(self.env.now, 6),
                 "seq": len(self.events) + 1}
        self.events.append(event)
        return event

    def account_store(self) -> None:
        """Integrate stored bytes over time (for GB-months) up to now."""
        t, stored = self._stored_at
        self.gb_seconds += stored * (self.env.now - t)
        self._stored_at = (self.env.now, self.store.bytes_stored)

    def sample_function(self) -> None:
        self.account_store()
        self.function_samples.append((round(self.env.now, 6), self.function.snapshot()))

    def sample_members(self) -> None:
        self.member_samples.append((round(self.env.now, 6), dict(sorted(self.members.items()))))

    # ---- pods -------------------------------------------------------------------------
    def _config(self, slot: Slot, instance_id: str):
        key = slot.kind
        if key not in self._configs:
            env = engine_env(self.config, Slot(slot.kind, 1), endpoint=ENDPOINT, secret="sim",
                             discovery_url=None, witness_dir=None)
            env.pop("WEFTKIT_PERSIST_INSTANCE_ID", None)
            config = parse_engine_config(env)
            self._configs[key] = replace(config, schedule=OffsetSchedule.of(config.schedule,
                                                                             self.options.clock_offset_s))
        return replace(self._configs[key], instance_id=instance_id)

    def _instance_id(self, slot: Slot, volume: Volume, generation: int) -> str:
        if self.platform.instance_id == "stable":
            return slot.name
        if volume.instance_id is None:  # generated once, kept on the volume
            volume.instance_id = "%032x" % random.Random(f"{self.seed}:id:{slot.name}:{generation}").getrandbits(128)
        return volume.instance_id

    def start_pod(self, slot: Slot, *, wipe: bool) -> Pod:
        if wipe or slot.name not in self.volumes:
            self.volumes[slot.name] = Volume()
        volume = self.volumes[slot.name]
        self.generations[slot.name] += 1
        generation = self.generations[slot.name]
        instance_id = self._instance_id(slot, volume, generation)
        config = self._config(slot, instance_id)
        caller = Caller(config.tenant, slot.kind, instance_id, config.compression,
                        prefix=layout.instance_prefix(config.tenant, slot.kind, instance_id))
        pod = Pod(self, slot, generation, volume, config, instance_id, caller)
        pod.ready = self.env.event()   # served, or failed before serving
        pod.gone = self.env.event()    # exited
        replaced = self.pods.get(slot.name)
        if replaced is not None and replaced.state == "starting":
            self.starting_pods -= 1         # no longer one of `pods`
        self.pods[slot.name] = pod
        self.starting_pods += 1             # a new pod is starting
        if slot.name not in self.slots:  # a slot's record outlives its pods
            record = self.slots[slot.name] = SlotRecord(witnessed=self._witnessed(slot.name))
            self._witnessed_slots += record.witnessed
        self.pod_started[slot.name] = self.env.now
        self.emit("engine.starting", slot.name, generation=generation, volume="empty" if wipe else "kept")
        self.at(self.start_delay(slot, self.rng), lambda _: pod.boot_now() if pod.state == "starting" else None)
        return pod

    def _witnessed(self, name: str) -> bool:
        limit = self.options.witnessed
        return limit is None or self._witnessed_slots < limit

    def live_slots(self) -> list[Slot]:
        return [p.slot for p in self.pods.values() if p.state != "exited" or p.exit_cause in (KILLED, CRASHED, FAILED)]

    def running(self) -> list[Pod]:
        return [p for _, p in sorted(self.pods.items()) if p.state == "running"]

    def pod_served(self, pod: Pod, serve) -> None:
        self._reconcile(pod)
        self.emit("engine.started", pod.name, instance_id=pod.instance_id, generation=pod.generation,
                  boot=serve.boot)
        if self.config.discovery and pod.name not in self.partitioned:
            self.members[pod.instance_id] = "alive"
            self.sample_members()
        if not pod.ready.triggered:
            pod.ready.succeed()

    def pod_leaves(self, pod: Pod) -> None:
        if self.members.pop(pod.instance_id, None) is not None:
            self.sample_members()

    def _engine_time(self, pod: Pod) -> None:
        started = self.pod_started.pop(pod.name, None)
        if started is not None:
            self.engine_seconds[pod.kind] += self.env.now - started

    def pod_exited(self, pod: Pod, code: int) -> None:
        self._engine_time(pod)
        if pod.exit_cause == "stopped":
            self.emit(pod.stop_event, pod.name, exit_code=code)
        elif not pod.served:
            pod.exit_cause = FAILED
            pod.boot_failures = getattr(pod, "boot_failures", 0) + 1
            delay = self._replace(pod, PodExit(FAILED, code, pod.boot_failures))
            self.emit("engine.failed", pod.name, exit_code=code, message="", reason=f"exit {code}",
                      retry_in_s=delay)
        else:
            pod.exit_cause = CRASHED
            delay = self._replace(pod, PodExit(CRASHED, code))
            self.emit("engine.crashed", pod.name, exit_code=code, message="", replaced_in_s=delay)
        if pod.instance_id in self.members and pod.exit_cause != "stopped":
            self._fail_member(pod.instance_id)
        if not pod.ready.triggered:
            pod.ready.succeed()
        pod.gone.succeed()

    def _replace(self, pod: Pod, exit: PodExit) -> float | None:
        decision = after_exit(exit, self.platform)
        if not decision.replace:
            return None
        ticket = self._replacing.get(pod.name, 0) + 1
        self._replacing[pod.name] = ticket

        def go(_):
            if self._replacing.get(pod.name) == ticket and self.pods.get(pod.name) is pod:
                new = self.start_pod(pod.slot, wipe=decision.wipe_volume)
                new.boot_failures = inherited_boot_failures(exit)  # the platform's rule, as the supervisor's
                self.emit("engine.recycled", pod.name, generation=new.generation,
                          volume="empty" if decision.wipe_volume else "kept", instance_id=new.instance_id)
        self.at(decision.delay_s, go)
        return decision.delay_s

    def cancel_replacement(self, name: str) -> None:
        self._replacing[name] = self._replacing.get(name, 0) + 1

    def stop_pod(self, pod: Pod, event: str = "engine.stopped"):
        """SIGTERM, then SIGKILL after the platform's stop grace; returns the pod's `gone` event."""
        if pod.state == "exited":
            return pod.gone
        pod.exit_cause, pod.stop_event = "stopped", event
        self.emit("engine.stopping", pod.name)
        if pod.state == "starting":  # not booted yet: the process dies with the signal
            pod.state = "exited"
            self.pod_exited(pod, 0)
            return pod.gone
        pod.state = "stopping"
        pod.sigterm()

        def grace(_):
            if pod.state != "exited":
                pod.kill()
                self.pod_exited(pod, SIGKILL_EXIT)
        self.at(self.platform.stop_grace_s, grace)
        return pod.gone

    def kill_pod(self, pod: Pod) -> None:
        pod.kill()
        pod.exit_cause, pod.exit_code = KILLED, SIGKILL_EXIT
        self._engine_time(pod)
        delay = self._replace(pod, PodExit(KILLED, SIGKILL_EXIT))
        self.emit("engine.killed", pod.name, exit_code=SIGKILL_EXIT, replaced_in_s=delay)
        if pod.instance_id in self.members:
            self._fail_member(pod.instance_id)
        pod.gone.succeed()

    # ---- discovery (the members view; detection after the configured time) ------------
    def _fail_member(self, node: str) -> None:
        def fail(_):
            if self.members.get(node) == "alive":
                self.members[node] = "failed"
                self.sample_members()
        self.at(self.detect_s, fail)

    def partition(self, name: str, on: bool) -> None:
        pod = self.pods.get(name)
        if on:
            self.partitioned.add(name)
            if pod is not None and pod.instance_id in self.members:
                self._fail_member(pod.instance_id)
        else:
            self.partitioned.discard(name)
            if pod is not None and pod.state == "running" and self.config.discovery:
                def rejoin(_):
                    if name not in self.partitioned and pod.state == "running":
                        self.members[pod.instance_id] = "alive"
                        self.sample_members()
                self.at(self.config.gossip_interval_ms / 1000, rejoin)

    # ---- the witness and recovery reports -------------------------------------------
    def witness_writes(self, pod: Pod) -> bool:
        return self.options.witness == "writes" and self.slots[pod.name].witnessed

    def note_writes(self, pod: Pod, first: int, last: int, times) -> None:
        record = self.slots[pod.name]
        record.written = last
        if not record.witnessed:
            return
        entries = self.witness.setdefault(pod.name, [])
        if times is not None:
            entries.extend({"w": "put", "lsn": first + i, "at": round(t, 6)} for i, t in enumerate(times))
            return
        # A batch: BATCH_POINTS entries at evenly spaced writes of it, each standing for its
        # share ("n"), the first at the batch's oldest write (so the worst window is exact and
        # percentiles are close); write times from the pod's steady rate.
        n = last - first + 1
        rate = max(pod.workload.rate, 1e-9)
        oldest = max(pod.serve_at, self.env.now - n / rate)
        points = min(n, BATCH_POINTS)
        for i in range(points):
            j = i * n // points
            share = (i + 1) * n // points - j
            entries.append({"w": "put", "lsn": first + j + share - 1, "n": share,
                            "at": round(oldest + j / rate, 6)})

    def note_ack(self, pod: Pod, lsn: int, nbytes, kind) -> None:
        record = self.slots[pod.name]
        record.acknowledged = max(record.acknowledged, lsn)
        if record.witnessed:
            self.witness.setdefault(pod.name, []).append(
                {"ack": lsn, "at": round(self.env.now, 6), "bytes": nbytes, "snapshot": kind})

    def _reconcile(self, pod: Pod) -> None:
        """engines_fake/witness.py's report at boot, from the slot's counters."""
        record = self.slots[pod.name]
        recovered = pod.volume.lsn
        lost = max(0, record.written - recovered)
        lost_ack = max(0, min(record.written, record.acknowledged) - recovered)
        report = {"boot": pod.boot, "instance_id": pod.instance_id, "recovered_lsn": recovered,
                  "witnessed_writes": record.written, "last_acknowledged_lsn": record.acknowledged,
                  "lost_count": lost, "lost": [], "lost_acknowledged": lost_ack,
                  "mismatched": [], "mismatched_count": 0, "at": round(self.env.now, 6)}
        self.recoveries.setdefault(pod.name, []).append(report)
        if record.written > recovered:
            entries = self.witness.get(pod.name, [])
            kept = []
            for e in entries:
                if "w" in e:
                    if e["lsn"] <= recovered:
                        kept.append(e)
                    elif "n" in e and e["lsn"] - e["n"] < recovered:
                        kept.append({**e, "lsn": recovered, "n": e["n"] - (e["lsn"] - recovered)})
                elif e["ack"] <= recovered:
                    kept.append(e)
            if pod.name in self.witness:
                self.witness[pod.name] = kept
        record.written = recovered
        record.acknowledged = min(record.acknowledged, recovered)

    def forget_witnesses(self) -> None:
        """The live store reset drops every slot's witness directory (reports included)."""
        self.witness.clear()
        self.recoveries.clear()
        for record in self.slots.values():
            record.written = record.acknowledged = 0
