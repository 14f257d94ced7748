"""The simulated world with its platform: start delays, spot reclaims, autoscaling, SWIM discovery.

`PlatformWorld` is `sim.model.world.World` (pods, the function, the store,
evidence) with what the platform does around the pods:

- the platform (`sim.platform.SimPlatform`): its stop grace, volume and
  instance-id rules become the live `PlatformConfig` every pod policy reads
  (policy.after_exit, policy.wipes_volume), and a new task waits the
  platform's start delay (a seeded draw) before the engine's own start;
- spot reclaims (`SpotPlan`): at explicit times or at a rate per engine-hour
  (one draw per pod); a reclaim is an `engine.spot_warning` event, SIGTERM
  when the platform sends it, SIGKILL when the warning or the grace runs out,
  and the service's replacement (after_exit with a KILLED cause: nobody asked
  for the stop, so the service restores the desired count);
- autoscaling (`AutoscalePolicy`): every `interval` each policy reads its
  kind's writes/s and scales the kind through the runner's own scale action
  (the fleet's scale plan, SIGTERM and grace for the removed pods, new pods
  on the platform's volumes), with an `autoscale.scaled` event; a kind with a
  `load` curve shares that load among its running engines, re-split whenever
  the running set changes and at every evaluation;
- discovery (`SimDiscovery`, mode "swim"): the real SWIM core hosts the
  engines; the members view the waits read and the member samples the
  evidence holds come from it. Mode "fixed" keeps the world's own fixed
  detection time.
"""
from __future__ import annotations

import math
import random

from emulator.supervisor.policy import KILLED, PodExit

from .discovery import SimDiscovery, params_from
from .model.world import SIGKILL_EXIT, World
from .platform import pod_rng
from .platform_settings import SimSettings, sim_settings


class PlatformWorld(World):
    def __init__(self, config, *, seed: int, options, settings: SimSettings, duration_s: float):
        self.settings = settings
        self.sim_platform = settings.platform
        self.duration_s = duration_s
        super().__init__(config, seed=seed, options=options, start_delay=self._start_delay)
        # the engines' start times by concurrency (sim/engine_start.py), drawn apart from the
        # world's own random stream so that they move no other draw
        self.engine_starts = getattr(options, "engine_starts", None)
        self._start_rng = random.Random(f"{seed}:engine-start")
        self.platform = settings.platform.live_config()   # what every pod policy reads
        self.t0: float | None = None
        self.run = None
        self.spot_events = 0
        self._autoscaled = {p.kind: p for p in settings.autoscale}
        self._discovery_faults: dict = {}
        self.discovery = None
        if config.discovery and settings.discovery.mode == "swim":
            params = params_from(config.gossip_interval_ms, config.suspicion_timeout_ms)
            self.discovery = SimDiscovery(self.env, params, nodes=settings.discovery.nodes,
                                          seed=seed, on_sample=self._members_changed)

    # ---- the platform ----------------------------------------------------------------
    def _start_delay(self, slot, rng) -> float:
        """The platform's task start, then the engine process's own start (calibrated): with a
        calibration by concurrency, drawn for as many pods as are starting now, this one included."""
        platform = self.sim_platform.start_delay_s(rng)
        starts = self.engine_starts
        if starts is None:
            return platform + self.options.start_delay_s
        starting = self.starting_pods if len(starts.points) > 1 else 1
        return platform + starts.draw(starting, self._start_rng)

    def begin(self, run) -> None:
        """The initial fleet serves: time zero. Start the spot schedule and the autoscalers."""
        self.run, self.t0 = run, self.env.now
        for spot in self.settings.spot.fixed:
            self.at(spot.at, lambda _, spot=spot: self._fixed_spot(spot))
        for pod in self.running():
            self._draw_spot(pod)
        for policy in self.settings.autoscale:
            self.env.process(self._autoscaler(policy))
            self._split_load(policy.kind)

    def _scenario_time(self) -> float:
        return self.env.now - (self.t0 or 0.0)

    def _over(self) -> bool:
        return self.t0 is not None and self._scenario_time() >= self.duration_s - 1e-9

    # ---- pods: hooks on the world's own events -----------------------------------------
    def pod_served(self, pod, serve) -> None:
        super().pod_served(pod, serve)
        if self.discovery is not None and self.config.discovery and pod.name not in self.partitioned:
            self.discovery.engine_started(pod.instance_id, pod.kind)
        if self.t0 is not None:
            self._draw_spot(pod)
            if pod.kind in self._autoscaled:
                self._split_load(pod.kind)

    def pod_leaves(self, pod) -> None:
        super().pod_leaves(pod)
        if self.discovery is not None:
            self.discovery.engine_stopped(pod.instance_id)
        if pod.kind in self._autoscaled and self.t0 is not None:
            self._split_load(pod.kind)

    def pod_exited(self, pod, code: int) -> None:
        super().pod_exited(pod, code)
        if pod.kind in self._autoscaled and self.t0 is not None:
            self._split_load(pod.kind)

    def kill_pod(self, pod) -> None:
        super().kill_pod(pod)
        if pod.kind in self._autoscaled and self.t0 is not None:
            self._split_load(pod.kind)

    # ---- discovery -------------------------------------------------------------------------
    def _members_changed(self, at: float, view: dict) -> None:
        self.members = dict(view)
        self.member_samples.append((at, dict(sorted(view.items()))))

    def sample_members(self) -> None:
        if self.discovery is None:
            super().sample_members()
        elif not self.member_samples:   # the runner's first sample at time zero
            self.member_samples.append((round(self.env.now, 6), dict(sorted(self.discovery.view().items()))))

    def _fail_member(self, node: str) -> None:
        if self.discovery is None:
            return super()._fail_member(node)
        self.discovery.engine_killed(node)   # its heartbeats stop; the core decides the rest

    def partition(self, name: str, on: bool) -> None:
        if self.discovery is None:
            return super().partition(name, on)
        pod = self.pods.get(name)
        (self.partitioned.add if on else self.partitioned.discard)(name)
        if pod is not None and pod.state == "running":
            self.discovery.heartbeats_cut(pod.instance_id, on)

    @property
    def discovery_faults(self) -> dict:
        return self._discovery_faults

    @discovery_faults.setter
    def discovery_faults(self, faults: dict) -> None:
        """The control API's discovery faults: gossip loss and partitions between discovery nodes."""
        self._discovery_faults = dict(faults)
        if self.discovery is not None:
            self.discovery.set_faults(float(faults.get("loss", 0.0)), faults.get("partitions", ()),
                                      faults.get("isolate", ()))

    # ---- spot --------------------------------------------------------------------------------
    def _draw_spot(self, pod) -> None:
        plan = self.settings.spot
        if not plan.rates:
            return
        at = plan.reclaim_at(pod.kind, self._scenario_time(),
                             pod_rng(self.seed, "spot", pod.name, pod.generation))
        if at is not None and at < self.duration_s:
            self.at(at - self._scenario_time(), lambda _: self.reclaim(pod))

    def _fixed_spot(self, spot) -> None:
        running = [p.name for p in self.running()]
        for name in self.settings.spot.targets(spot, running, lambda n: self.pods[n].kind):
            self.reclaim(self.pods[name])

    def reclaim(self, pod) -> None:
        """Spot capacity under `pod` is reclaimed: warning, SIGTERM, SIGKILL, replacement."""
        if pod.state != "running" or self.pods.get(pod.name) is not pod or self._over():
            return
        stop = self.sim_platform.spot_stop()
        self.spot_events += 1
        self.emit("engine.spot_warning", pod.name, instance_id=pod.instance_id,
                  sigterm_in_s=stop.sigterm, sigkill_in_s=stop.sigkill)
        self.cancel_replacement(pod.name)

        def sigterm(_):
            if pod.state != "running" or self.pods.get(pod.name) is not pod:
                return
            gone = self.stop_pod(pod)
            grace = stop.sigkill - stop.sigterm
            if grace < self.platform.stop_grace_s:   # the capacity goes before the grace ends
                def reclaimed(_):
                    if pod.state != "exited":
                        pod.kill()
                        self.pod_exited(pod, SIGKILL_EXIT)
                self.at(grace, reclaimed)
            gone.callbacks.append(lambda _: self._replace_reclaimed(pod))
        self.at(stop.sigterm, sigterm)

    def _replace_reclaimed(self, pod) -> None:
        if self.pods.get(pod.name) is not pod or self._over():
            return
        # Nobody asked for this stop: the service restores its desired count, as after a kill.
        pod.exit_cause = KILLED
        self._replace(pod, PodExit(KILLED, pod.exit_code))

    # ---- autoscaling ----------------------------------------------------------------------
    def _metric(self, policy) -> float:
        """The kind's writes/s over the last interval: the offered load, shared by its engines."""
        t = self._scenario_time()
        if policy.load is not None:
            return policy.load.mean(max(0.0, t - policy.interval_s), t)
        return math.fsum(p.workload.rate for p in self.running() if p.kind == policy.kind)

    def _autoscaler(self, policy):
        from .autoscale import AutoscaleState, decide
        state = AutoscaleState()
        k = 0
        while True:
            k += 1
            wake = self.t0 + k * policy.interval_s
            # A scale's SIGTERMs take up to the grace; one ending after the timeline would start
            # pods after the runner's final stop, so none is begun that late.
            if wake - self.t0 >= self.duration_s - self.platform.stop_grace_s - 1:
                return
            yield self.env.timeout(max(0.0, wake - self.env.now))
            self._split_load(policy.kind)
            replicas = sum(1 for s in self.live_slots() if s.kind == policy.kind)
            running = sum(1 for p in self.running() if p.kind == policy.kind)
            decision, state, why = decide(policy, state, self._scenario_time(), self._metric(policy),
                                          replicas, running)
            if decision is None:
                continue
            self.emit("autoscale.scaled", policy.kind, replicas_from=decision.replicas_from,
                      replicas_to=decision.replicas_to,
                      metric_per_engine=round(decision.metric_per_engine, 6), reason=decision.reason)
            yield from self.run.scale({"kind": policy.kind, "replicas": decision.replicas_to}, None)
            self._split_load(policy.kind)

    def _split_load(self, kind: str) -> None:
        """Share the kind's offered load among its running engines (writes due so far stay)."""
        policy = self._autoscaled.get(kind)
        if policy is None or policy.load is None:
            return
        pods = [p for p in self.running() if p.kind == kind and p.accepting]
        if not pods:
            return
        rate = policy.load.at(self._scenario_time()) / len(pods)
        for pod in pods:
            set_write_rate(pod, rate)


def set_write_rate(pod, rate: float) -> None:
    """Change a pod's steady write rate from now: the writes due so far are counted first,
    then its workload's counters restart at now (its bursts, if any, re-anchor too)."""
    workload = pod.workload
    if workload.rate == rate or pod._draining:   # mid-event: its writes cannot be counted now
        return
    pod.accrue()
    workload.rate = rate
    workload.steady = workload.bursts = 0
    pod.serve_at = pod.now


def platform_world(scenario, *, seed: int, options) -> PlatformWorld:
    """The world a scenario runs in, with its [sim.platform], spot, autoscale and discovery."""
    settings = sim_settings(scenario)
    return PlatformWorld(scenario.config, seed=seed, options=options, settings=settings,
                         duration_s=scenario.duration_s)
