"""Carrying out a sweep: one simulated run per combination and replication, on local
processes or on a Dask distributed cluster.

A run is a `PointTask` (plain data, so it pickles to a process or a Dask
worker): the scenario file's text, the overrides of its combination, the seed
of its replication, the price table and calibration to use. `run_point` runs
it where it lands and returns plain data: the run's metrics (sweep.metrics_of)
or the error that stopped it. Workers need the same wkp-emu installed (a Dask
worker started from this environment: `dask worker ADDRESS`).
"""
from __future__ import annotations

import multiprocessing
import os
import signal
import time
import tomllib
from dataclasses import dataclass
from typing import Callable, Iterable

from .sweep import SweepError, apply_overrides, metrics_of


@dataclass(frozen=True)
class PointTask:
    index: int                         # position in the sweep (combination-major)
    combination: int
    replication: int
    overrides: tuple
    seed: int
    text: str                          # the scenario file, as read once by the command
    source: str
    prices: str | None = None          # a shipped price table's name or a file; None: aws-us-east-1
    calibration: str | None = None     # a calibration file; None: the shipped profile


def build_scenario(text: str, source: str, overrides: Iterable[tuple[str, object]]):
    """The scenario with the overrides applied, checked by the scenario loader (SweepError if not)."""
    from emulator.supervisor.config import ConfigFileError

    from . import schema
    from .loader import ScenarioError, _build_scenario
    data = apply_overrides(tomllib.loads(text), overrides)
    try:
        return _build_scenario(data, source)
    except schema.SchemaError as exc:
        raise SweepError(f"{source}: {exc.key}: {exc}") from None
    except ConfigFileError as exc:
        raise SweepError(f"{source}: {exc.key}: {str(exc).split(': ', 2)[-1]}") from None
    except ScenarioError as exc:
        raise SweepError(str(exc)) from None


def replicated(overrides: tuple, seed: int) -> tuple:
    """The combination's overrides with the replication's seed as the scenario's seed, so that every
    random choice varies between replications (the workload's keys and values, fault decisions, the
    model's draws), unless the sweep itself varies scenario.seed."""
    if any(key == "scenario.seed" for key, _ in overrides):
        return overrides
    return (*overrides, ("scenario.seed", seed))


def run_point(task: PointTask) -> dict:
    """One simulated run; its metrics and report essentials, or its error, as plain data."""
    began = time.perf_counter()
    out = {"index": task.index, "combination": task.combination, "replication": task.replication,
           "seed": task.seed, "overrides": [list(o) for o in task.overrides]}
    try:
        from sim.cost_report import add_cost, cost_inputs
        from sim.runner import simulate

        from .report import build_report
        scenario = build_scenario(task.text, task.source, replicated(task.overrides, task.seed))
        prices, calibration = cost_inputs(task.prices, task.calibration)
        run = simulate(scenario, seed=task.seed, calibration=calibration)
        report = add_cost(build_report(scenario, run.evidence, runner="sim", wall_s=run.wall_s), run.counts,
                          prices)
        out.update(metrics=metrics_of(report), passed=report["passed"],
                   currency=report["cost"]["prices"]["currency"],
                   failed=[v["description"] for v in report["expectations"] if not v["passed"]])
    except Exception as exc:  # noqa: BLE001 - a run's failure is a result of the sweep, not its end
        out.update(error=f"{type(exc).__name__}: {exc}")
    out["wall_s"] = round(time.perf_counter() - began, 3)
    return out


def usable_cpus() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def run_local(tasks: list[PointTask], workers: int, progress: Callable[[dict], None]) -> list[dict]:
    """On `workers` local processes (one process runs everything in turn when workers is 1)."""
    if workers <= 1:
        results = []
        for t in tasks:
            results.append(run_point(t))
            progress(results[-1])
        return results
    results, pool = [], None
    try:
        # Ctrl-C is held while the workers are forked: a pool cut off half-built would leave
        # workers behind; they keep it blocked (the sweep, not each worker, answers Ctrl-C)
        held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            pool = multiprocessing.Pool(workers)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, held)
        for result in pool.imap_unordered(run_point, tasks):
            results.append(result)
            progress(result)
    except BaseException:
        if pool is not None:
            pool.terminate()  # Ctrl-C: the workers are stopped at once, runs in hand included
            pool.join()
        raise
    pool.close()
    pool.join()
    return sorted(results, key=lambda r: r["index"])


class SchedulerUnreachable(RuntimeError):
    pass


def run_dask(tasks: list[PointTask], address: str, progress: Callable[[dict], None],
             timeout_s: float = 20.0) -> tuple[list[dict], dict]:
    """On the Dask cluster whose scheduler is at `address`; also says which workers ran what."""
    from distributed import Client, as_completed as dask_completed
    try:
        client = Client(address, timeout=timeout_s, set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise SchedulerUnreachable(f"no Dask scheduler at {address}: {exc}") from None
    try:
        workers = client.scheduler_info().get("workers", {})
        if not workers:
            raise SchedulerUnreachable(f"the Dask scheduler at {address} has no workers")
        futures = client.map(run_point, tasks, pure=False, key=[f"wkp-sweep-{t.index}-{id(tasks)}"
                                                                for t in tasks])
        results, where = [], {}
        for future in dask_completed(futures, loop=client.loop):
            result = future.result()
            results.append(result)
            progress(result)
        for key, holders in client.who_has(futures).items():
            for w in holders:
                where[w] = where.get(w, 0) + 1
        return sorted(results, key=lambda r: r["index"]), {"workers": len(workers), "results_on": where}
    finally:
        client.close()
