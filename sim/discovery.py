"""Discovery in the simulator: the real SWIM core on a SimPy clock, with engines as hosted members.

`sim.swim_cluster.Cluster` runs real `Membership` cores on a virtual network
(latency, loss, partitions); this module puts that cluster on a SimPy
environment's clock and plays what the live stack does around it:

- discovery nodes `discovery-1..N` (the live node's id is discovery-1) gossip
  with each other (SWIM over the virtual
  network; `loss` and `partition()` act on that traffic, as the live fault
  hooks act on UDP);
- each engine registers with one node (its host, round-robin) when it starts
  serving, heartbeats every `heartbeat_interval` while its pod runs, leaves
  (`left`) when it stops on SIGTERM, and simply falls silent when it is
  killed: its host suspects it after `heartbeat_timeout`, and the suspicion
  timeout makes it failed, by the core's own rules.

Heartbeats are not events. A heartbeat changes nothing but the host's
"last heard" time, and the host reads that only when its timer fires; so
just before a host's timer fires, each of its engines that is still beating
is credited with its latest heartbeat (registration time plus a whole number
of intervals). A month of heartbeats costs nothing; the host still suspects
a silent engine at exactly the time it would live.

`member_samples` is the evidence the live recorder samples from the control
API (time, {node_id: status} at node discovery-1), taken here at every change it
sees, so `discovery_failed_within` judges a simulated run the same way.
"""
from __future__ import annotations

import math
import random
import statistics
from dataclasses import dataclass, field

import simpy

from emulator.discovery.config import DiscoveryConfig
from emulator.membership import Meta, NotHostedHere, Status, SwimParams

from .swim_cluster import FAST, Cluster
from .swim_theory import expected_detection

NODE_PREFIX = "discovery-"  # the live stack's node is discovery-1 (supervisor/services.py)
HEARTBEAT_INTERVAL_S = DiscoveryConfig.heartbeat_interval_ms / 1000  # what engines are told


def params_from(gossip_interval_ms: int = 500, suspicion_timeout_ms: int = 5000,
                **discovery_keys) -> SwimParams:
    """SwimParams exactly as a live discovery node builds them from its `[discovery]`
    config (emulator.discovery.config: probe timeout 40 % of the period, heartbeat
    timeout = missed_heartbeats x heartbeat_interval_ms, ...)."""
    return DiscoveryConfig(gossip_interval_ms=gossip_interval_ms,
                           suspicion_timeout_ms=suspicion_timeout_ms,
                           **discovery_keys).swim_params()


@dataclass
class _Engine:
    node_id: str
    kind: str
    host: str
    since: float                 # registration time: heartbeats are since + k * interval
    beating: bool = True         # False: killed, stopped, or its heartbeats are cut


class SimDiscovery:
    """Discovery nodes and engines' presence on a SimPy environment.

    Every method that changes something first brings the cluster up to the
    environment's `now`, then acts, then wakes the driving process so it
    re-plans its next wake-up.
    """

    def __init__(self, env: simpy.Environment, params: SwimParams = FAST, *, nodes: int = 1,
                 seed: int = 0, latency: float = 0.001, loss: float = 0.0,
                 heartbeat_interval: float = HEARTBEAT_INTERVAL_S, encode: bool = False,
                 on_sample=None):
        if nodes < 1:
            raise ValueError(f"discovery needs at least one node, got {nodes}")
        if not 0.0 <= loss < 1.0:
            raise ValueError(f"loss must be from 0 to 1 (exclusive), got {loss}")
        if heartbeat_interval <= 0:
            raise ValueError(f"heartbeat_interval must be positive, got {heartbeat_interval}")
        self.env = env
        self.heartbeat_interval = heartbeat_interval
        self.cluster = Cluster(params=params, seed=seed, latency=latency, loss=loss,
                               now=env.now, encode=encode, keep_sent=False,
                               before_timer=self._credit_heartbeats)
        self.hosts = [f"{NODE_PREFIX}{i}" for i in range(1, nodes + 1)]
        for host in self.hosts:
            self.cluster.add(host, seeds=(self.hosts[0],))
        self.engines: dict[str, _Engine] = {}
        self._next_host = 0
        self.observer = self.hosts[0]
        self.member_samples: list[tuple[float, dict[str, str]]] = []
        self.on_sample = on_sample  # called with (time, view) for each new or updated sample
        self._seen = 0
        self._wake = env.event()
        self._driving = True
        env.process(self._drive())

    # ---- the SimPy side ------------------------------------------------------

    def _drive(self):
        """Sleep until the cluster's next event (or a wake-up), run it, repeat.

        SWIM always has a timer armed, so this process alone would keep the
        environment running for ever; it returns as soon as nothing else is
        scheduled (the rest of the world is done: nothing can call in again)."""
        env, cluster = self.env, self.cluster
        while True:
            at = cluster.next_event_time()
            if math.isinf(at):
                yield self._wake
            else:
                yield env.timeout(max(0.0, at - env.now)) | self._wake
            if self._wake.triggered:
                self._wake = env.event()
            cluster.run_until(env.now)
            self._sample()
            if math.isinf(env.peek()):
                self._driving = False
                return

    def _sync(self) -> None:
        """Bring the cluster to env.now before an outside action changes it."""
        self.cluster.run_until(self.env.now)
        self._sample()

    def _poke(self) -> None:
        self._sample()
        if not self._driving:
            self._driving = True
            self.env.process(self._drive())
        elif not self._wake.triggered:
            self._wake.succeed()

    def _sample(self) -> None:
        """A member sample each time the observer's view changed (as the live recorder polls)."""
        changes = self.cluster.changes
        if self._seen == len(changes):
            return
        changed = False
        for at, observer, _ in changes[self._seen:]:
            if observer != self.observer:
                continue
            at = round(at, 6)
            if self.member_samples and self.member_samples[-1][0] == at:
                self.member_samples.pop()  # several changes at one instant: one sample
            self.member_samples.append((at, self.view()))
            changed = True
        self._seen = len(changes)
        if changed and self.on_sample is not None:
            self.on_sample(*self.member_samples[-1])

    # ---- heartbeats, credited lazily ---------------------------------------

    def _latest_beat(self, engine: _Engine, now: float) -> float:
        beats = math.floor((now - engine.since) / self.heartbeat_interval)
        return engine.since + max(0, beats) * self.heartbeat_interval

    def _credit_heartbeats(self, host: str, now: float) -> None:
        core = self.cluster.nodes[host]
        for node_id, last in list(core.hosted.heartbeats.items()):
            engine = self.engines.get(node_id)
            if engine is None or not engine.beating or engine.host != host:
                continue
            beat = self._latest_beat(engine, now)
            if beat > last:
                member, effects = core.heartbeat(node_id, beat)
                self.cluster.execute(host, effects)

    # ---- engines ---------------------------------------------------------------

    def engine_started(self, node_id: str, kind: str, *, endpoint: str = "") -> str:
        """The engine's pod serves: it registers with the next host; returns the host."""
        self._sync()
        live_hosts = [h for h in self.hosts if h not in self.cluster.down]
        if not live_hosts:
            self.engines.pop(node_id, None)
            return ""
        host = live_hosts[self._next_host % len(live_hosts)]
        self._next_host += 1
        meta = Meta(type=kind, protocol="wkp-data-http", endpoint=endpoint or node_id,
                    groups=(kind,))
        _, effects = self.cluster.nodes[host].register(node_id, meta, self.env.now)
        self.cluster.execute(host, effects)
        self.engines[node_id] = _Engine(node_id, kind, host, self.env.now)
        self._poke()
        return host

    def engine_stopped(self, node_id: str) -> None:
        """SIGTERM: the engine deregisters (status `left`) before it exits."""
        self._sync()
        engine = self.engines.pop(node_id, None)
        if engine is None or engine.host in self.cluster.down:
            return
        core = self.cluster.nodes[engine.host]
        try:
            _, effects = core.deregister(node_id, self.env.now)
        except (KeyError, NotHostedHere):
            return  # it moved or was forgotten: nothing to leave
        self.cluster.execute(engine.host, effects)
        self._poke()

    def engine_killed(self, node_id: str) -> None:
        """SIGKILL (a spot reclaim, an OOM kill): the heartbeats just stop."""
        self._sync()
        engine = self.engines.get(node_id)
        if engine is not None:
            self._credit_heartbeats(engine.host, self.env.now)  # the beats it did send count
            del self.engines[node_id]
        self._poke()

    def heartbeats_cut(self, node_id: str, cut: bool) -> None:
        """The engine's path to discovery is cut (or restored); it keeps running."""
        self._sync()
        engine = self.engines.get(node_id)
        if engine is None:
            return
        if cut and engine.beating:
            self._credit_heartbeats(engine.host, self.env.now)
            engine.beating = False
        elif not cut and not engine.beating:
            engine.beating = True
            engine.since = self.env.now  # it beats again from now
            member, effects = self.cluster.nodes[engine.host].heartbeat(node_id, self.env.now)
            if member is None:  # forgotten by its host (failed and reaped): register again
                self.engines.pop(node_id)
                self.engine_started(node_id, engine.kind)
                return
            self.cluster.execute(engine.host, effects)
        self._poke()

    # ---- the gossip network ----------------------------------------------------

    def set_faults(self, loss: float = 0.0, partitions=(), isolate=()) -> None:
        """The live fault plan of a discovery node (docs/discovery.md, "Fault hooks"), for
        the whole cluster: gossip `loss`, `partitions` (pairs of sides), `isolate` (nodes
        cut off from every node not listed). A new plan replaces the previous one."""
        self.set_loss(loss)
        self.cluster.heal()
        for sides in partitions:
            self.cluster.partition(*sides)
        if isolate:
            rest = [h for h in self.hosts if h not in isolate]
            self.cluster.partition(list(isolate), rest)
        self._poke()

    def set_loss(self, loss: float) -> None:
        if not 0.0 <= loss < 1.0:
            raise ValueError(f"loss must be from 0 to 1 (exclusive), got {loss}")
        self._sync()
        self.cluster.loss = loss

    def partition(self, *sides) -> None:
        self._sync()
        self.cluster.partition(*sides)
        self._poke()

    def heal(self) -> None:
        self._sync()
        self.cluster.heal()
        self._poke()

    # ---- views -------------------------------------------------------------------

    def status(self, node_id: str, observer: str | None = None) -> str | None:
        found = self.cluster.status(observer or self.observer, node_id)
        return found.value if found is not None else None

    def view(self, observer: str | None = None) -> dict[str, str]:
        core = self.cluster.nodes[observer or self.observer]
        return {m.node_id: m.status.value for m in core.members()}


# ---- the analytic check ------------------------------------------------------------

@dataclass(frozen=True)
class DetectionExperiment:
    n: int
    trials: int
    first_detection_s: float     # mean, simulated
    failure_s: float             # mean, simulated
    expected_first_s: float      # analytic (sim.swim_theory)
    expected_failure_s: float
    samples: tuple[tuple[float, float], ...] = field(default=(), repr=False)

    @property
    def first_error(self) -> float:
        return abs(self.first_detection_s - self.expected_first_s) / self.expected_first_s

    @property
    def failure_error(self) -> float:
        return abs(self.failure_s - self.expected_failure_s) / self.expected_failure_s


def detection_experiment(n: int = 8, trials: int = 150, *, seed: int = 1,
                         params: SwimParams = FAST) -> DetectionExperiment:
    """Crash one member of an n-member cluster `trials` times at random moments and
    measure crash -> first suspicion anywhere, and crash -> first `failed` anywhere.

    One cluster serves every trial: after each, the member rejoins under the same
    id (outbidding its failure) and the cluster converges; then a random wait of
    two to four rounds puts the next crash at a random point of every prober's round.
    """
    cluster = Cluster(params=params, seed=seed, encode=False, keep_sent=False)
    cluster.start(n)
    if cluster.run_until_true(cluster.converged, 60 * params.period) is None:
        raise RuntimeError(f"{n} members did not converge")
    rng = random.Random(seed)
    victim, rounds = "n1", n - 1
    samples = []
    for _ in range(trials):
        cluster.run_for((2 * rounds + rng.uniform(0, 2 * rounds)) * params.period)
        crashed_at, seen = cluster.now, len(cluster.changes)
        cluster.crash(victim)

        def became(status, seen=seen):
            return any(c.member.node_id == victim and c.member.status is status
                       for _, _, c in cluster.changes[seen:])

        bound = (2 * rounds + 2) * params.period + params.suspicion_timeout + 60
        first = cluster.run_until_true(lambda: became(Status.SUSPECT), bound)
        failed = cluster.run_until_true(lambda: became(Status.FAILED), bound)
        if first is None or failed is None:
            raise RuntimeError("a crashed member was never detected")
        samples.append((first - crashed_at, failed - crashed_at))
        cluster.run_until_true(lambda: cluster.all_see(victim, Status.FAILED), bound)
        cluster.add(victim, seeds=("n0",))
        if cluster.run_until_true(cluster.converged, 60 * params.period) is None:
            raise RuntimeError("the crashed member could not rejoin")
    expected = expected_detection(n, params)
    return DetectionExperiment(n, trials, statistics.fmean(s[0] for s in samples),
                               statistics.fmean(s[1] for s in samples),
                               expected.first_detection_s, expected.failure_s, tuple(samples))


__all__ = ["SimDiscovery", "params_from", "detection_experiment", "DetectionExperiment"]
