"""Which WKP-1 function `wkp-emu up` runs: a table of targets.

    [function]
    target = "aiohttp"   # or "lambda"      (wkp-emu up --function lambda)

Every target gives the supervisor the same five things: the endpoint the
engines push to, the store (for status, export, import and reset), the fault
table and the metrics behind `wkp-emu fault` and `wkp-emu status`, and a way
to drop the function's warm state. Adding a platform (Cloud Functions,
Azure) is one class and one entry in FUNCTION_TARGETS.

- `aiohttp`: the emulator's own function (emulator/function), in process;
- `lambda`: the Lambda reference function (wkp_functions.aws_lambda) in
  runtime processes behind the local Lambda host's Function URL
  (emulator/platforms/lambda_host). Request faults and metrics apply at the
  Function URL; store faults need the aiohttp function (the runtimes reach S3
  themselves), so they are refused with a reason.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class AiohttpTarget:
    running: object  # emulator.function.runner.RunningFunction

    @classmethod
    async def start(cls, services) -> "AiohttpTarget":
        from emulator.function.config import FunctionConfig
        from emulator.function.runner import start_function
        from .config import function_settings
        cfg = services.config
        limits, instances, platform = function_settings(cfg)  # [function] profile and instances
        fn_config = FunctionConfig(
            secret=services.secret, s3_endpoint=services.s3_endpoint, bucket=cfg.bucket, limits=limits,
            async_storage=cfg.async_storage, fault_seed=cfg.fault_seed, instances=instances,
            platform=platform, instances_dir=str(services.state_dir / "function-instances"))
        return cls(await start_function(fn_config, services.host, cfg.function_port))

    @property
    def endpoint(self) -> str:
        return self.running.endpoint

    def _app(self, key):
        return self.running.runner.app[key]

    @property
    def store(self):
        from emulator.function.keys import STORE
        return self._app(STORE)

    @property
    def faults(self):
        from emulator.function.keys import FAULTS
        return self._app(FAULTS)

    @property
    def metrics(self):
        from emulator.function.keys import METRICS
        return self._app(METRICS)

    def forget_warm_state(self) -> None:
        from emulator.function.keys import CHAINS
        self._app(CHAINS).forget_all()

    async def stop(self) -> None:
        await self.running.runner.cleanup()


def _url_faults(seed):
    from emulator.function.faults import FaultSpecError, FaultTable

    class UrlFaults(FaultTable):
        """Request faults at the Function URL; store faults cannot reach the runtimes' S3 client."""

        def add(self, fault):
            if fault.kind.startswith("store_"):
                raise FaultSpecError("store faults need the aiohttp function ([function] target = "
                                     "\"aiohttp\"): the Lambda function's runtimes reach S3 themselves")
            return super().add(fault)

    return UrlFaults(seed)


@dataclass
class LambdaTarget:
    host: object   # emulator.platforms.lambda_host.host.LambdaHost
    store: object  # emulator.store.s3.S3Store over the same bucket
    faults: object = field(default=None)
    metrics: object = field(default=None)

    @classmethod
    async def start(cls, services) -> "LambdaTarget":
        from emulator.function.metrics import Metrics
        from emulator.platforms.lambda_host.serving import LambdaFunctionSettings, start_lambda_function
        from emulator.store.s3 import S3Store
        cfg = services.config
        faults = _url_faults(cfg.fault_seed)
        metrics = Metrics(platform={"target": "lambda", "profile": "lambda-url"})
        host = await start_lambda_function(LambdaFunctionSettings(
            secret=services.secret, s3_endpoint=services.s3_endpoint, bucket=cfg.bucket,
            max_payload=min(cfg.max_payload, 4 * 1024 * 1024),
            timeout_s=cfg.function_timeout_s or 900.0, instances_max=cfg.instances_max or 10,
            keep_alive_s=cfg.keep_alive_s or 600.0, paced=cfg.function_profile == "lambda-url",
            work_dir=services.state_dir / "lambda-instances"),
            services.host, cfg.function_port, faults=faults, metrics=metrics)
        metrics.instances = host.view
        store = S3Store(services.s3_endpoint, cfg.bucket)
        await store.open()
        return cls(host, store, faults, metrics)

    @property
    def endpoint(self) -> str:
        return self.host.endpoint

    def forget_warm_state(self) -> None:
        self.host.reap_idle()  # a warm instance's memory is the only warm state there is

    async def stop(self) -> None:
        await self.host.stop()
        await self.store.close()


from emulator.platforms.standin_target import AzureTarget, GcfTarget  # noqa: E402  (stand-in targets)

FUNCTION_TARGETS = {"aiohttp": AiohttpTarget, "lambda": LambdaTarget, "gcf": GcfTarget, "azure": AzureTarget}
