"""`wkp-emu up --function gcf|azure`: the Cloud Functions or Azure Functions
reference function, each on its store stand-in, as a target of the
supervisor's function table (emulator/supervisor/function_targets.py).

The function runs in its own processes (functions-framework; our Azure host),
one per instance (worker_instances.py), behind FunctionFront, which picks the
instance, applies request faults and keeps the metrics.
Store faults are refused with a reason: the function's processes reach their
store themselves. The supervisor's own store operations (status, export at
`down`, import at `up`, reset) go to the stand-in store through AsyncStore.
The stand-in stores keep their data in memory: the archive written at `down`
(.wkp-emu/store) is what carries it to the next `up`, as with moto.
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from .worker_instances import InstanceStartFailed


def _front_faults(seed, target: str):
    from emulator.function.faults import FaultSpecError, FaultTable

    class FrontFaults(FaultTable):
        """Request faults at the front; store faults cannot reach the function's own store client."""

        def add(self, fault):
            if fault.kind.startswith("store_"):
                raise FaultSpecError(f"store faults need the aiohttp function ([function] target = "
                                     f"\"aiohttp\"): the {target} function's processes reach their store "
                                     "themselves")
            return super().add(fault)

    return FrontFaults(seed)


def worker_settings(cfg, profile: str):
    """[function] instances_max, instance_concurrency and keep_alive_s for the stand-in's instances.
    Unset, unsteered traffic keeps one warm instance for the run: at most 4 (room for a steered
    new one), each serving 100 requests at once, never reaped. A profile's instance numbers are not
    applied here (the gcf profile's 100 instances of one request each would be 100 processes)."""
    from .worker_instances import WorkerSettings
    return WorkerSettings(instances_max=cfg.instances_max or 4,
                          instance_concurrency=cfg.instance_concurrency or 100,
                          keep_alive_s=cfg.keep_alive_s)


@dataclass
class StandInTarget:
    name: str
    standin: object               # GcfStandIn | AzureStandIn (the store; the instances' settings)
    instances: object             # WorkerInstances
    front: object                 # FunctionFront
    store: object                 # AsyncStore over the stand-in's store
    faults: object = field(default=None)
    metrics: object = field(default=None)

    @classmethod
    async def _start(cls, services, name: str, profile: str, start, sync_store):
        from emulator.function.metrics import Metrics

        from .async_store import AsyncStore
        from .front import FunctionFront
        from emulator.supervisor.supervisor import ActionError

        from .standin_process import StandInFailed
        from .worker_instances import WorkerInstances
        cfg = services.config
        state_dir = services.state_dir / f"{name}-function"
        try:
            standin = await asyncio.to_thread(start, services.secret, cfg, state_dir)
        except StandInFailed as exc:  # `up` says why (Azurite missing, a process that died) and exits 1
            raise ActionError(f"the {name} function did not start: {exc}", 503) from None
        instances = WorkerInstances(standin.start_worker, state_dir / "instances", worker_settings(cfg, profile))
        try:
            await instances.start()
            faults = _front_faults(cfg.fault_seed, name)
            metrics = Metrics(platform={"target": name, "profile": profile})
            metrics.instances = instances.view
            front = FunctionFront(instances, faults=faults, metrics=metrics)
            await front.start(services.host, cfg.function_port)
            # the first instance starts now: `up` reports a function that cannot start, and the
            # engines' first pushes do not wait for it
            async with instances.serve():
                pass
        except BaseException as exc:
            await instances.stop()
            await asyncio.to_thread(standin.stop)
            if isinstance(exc, InstanceStartFailed):
                raise ActionError(f"the {name} function did not start: {exc}", 503) from None
            raise
        return cls(name, standin, instances, front, AsyncStore(sync_store(standin, cfg)), faults, metrics)

    @property
    def endpoint(self) -> str:
        return self.front.endpoint

    def forget_warm_state(self) -> None:
        """Reap every idle instance: an instance's memory is its process, the only warm state
        there is. An instance busy at that moment keeps its memory; it is never trusted to store
        on (a push is stored after a fresh listing, wkp_functions/core.py)."""
        self.instances.reap_idle()

    async def stop(self) -> None:
        await self.front.stop()
        await self.instances.stop()
        await asyncio.to_thread(self.standin.stop)


class GcfTarget(StandInTarget):
    @classmethod
    async def start(cls, services) -> "GcfTarget":
        from .gcf_host.standin import start_gcf

        def start(secret, cfg, state_dir):
            return start_gcf(secret, state_dir=state_dir, bucket=cfg.bucket,
                             max_payload=min(cfg.max_payload, 32 * 1024 * 1024), function=False)

        def store(standin, cfg):
            from wkp_functions.stores.gcs import GCSStore
            return GCSStore.from_env(cfg.bucket, env={"STORAGE_EMULATOR_HOST": standin.storage_endpoint})

        return await cls._start(services, "gcf", "gcf", start, store)


class AzureTarget(StandInTarget):
    @classmethod
    async def start(cls, services) -> "AzureTarget":
        from .azure_host.standin import start_azure

        def start(secret, cfg, state_dir):
            return start_azure(secret, state_dir=state_dir, container=cfg.bucket,
                               max_payload=min(cfg.max_payload, 100 * 1024 * 1024),
                               answer_limit_s=cfg.function_timeout_s, function=False)

        def store(standin, cfg):
            from wkp_functions.stores.blob import BlobStore
            return BlobStore.from_connection_string(standin.connection_string, standin.container)

        return await cls._start(services, "azure", "azure", start, store)
