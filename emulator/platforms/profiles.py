"""Platform profiles: the documented limits and behaviours of where engines and functions run.

Pure data and lookups, no I/O. Two families:

- engine platforms (`fargate`, `cloud-run`, `aci`, `kubernetes`): how a task
  stops (SIGTERM, then SIGKILL after the stop grace), how long a new one takes
  to start, whether its volume survives it, whether its instance id does, and
  the warning a spot interruption gives;
- function platforms (`lambda-url`, `gcf`, `azure`, `container`): request and
  response sizes, the streamed response rate after its unthrottled prefix, the
  timeout, the concurrency a new account gets, and the instance model's cold
  start and keep-alive.

Every number carries its source next to it (a URL and the date it was read),
and docs/functions.md repeats them. Numbers a platform does not publish (a
cold start, how long an idle instance is kept) are marked "observed" and are
typical values, not promises; the live emulator and the simulator both take
them from here, so changing one place changes both.

Sizes: AWS's "6 MB" payload limit is 6,291,456 bytes (the Invoke API's error
says "must be smaller than 6291456 bytes"), so MB here is 2**20 bytes unless a
source says otherwise.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

MiB = 1024 * 1024
CHECKED = "2026-11-30"  # the date every source below was last read

VOLUMES = ("ephemeral", "kept")   # a new task's disk: empty, or the previous one's (a PVC)
INSTANCE_IDS = ("stable", "new")  # whether a replacement keeps its predecessor's identity


class UnknownProfile(ValueError):
    """A profile name that is not in the table; the message lists the known ones."""


@dataclass(frozen=True)
class Delay:
    """A positive duration drawn from a log-normal: `median_s`, and `p90_s` for the spread.

    Start delays and cold starts are skewed (most are quick, a few pull an
    image or land on a cold host), which a log-normal fits; two quantiles are
    what the sources give, so the profile states those and derives sigma.
    """
    median_s: float
    p90_s: float

    def __post_init__(self):
        if self.median_s < 0 or self.p90_s < self.median_s:
            raise ValueError(f"a delay needs 0 <= median ({self.median_s}) <= p90 ({self.p90_s})")

    @property
    def sigma(self) -> float:
        if self.median_s == 0 or self.p90_s == self.median_s:
            return 0.0
        return math.log(self.p90_s / self.median_s) / 1.2815515655446004  # z of the 90th percentile

    def sample(self, gauss: float) -> float:
        """The delay for a standard normal draw `gauss` (the caller owns the RNG)."""
        return self.median_s * math.exp(self.sigma * gauss) if self.median_s else 0.0

    def quantile(self, z: float) -> float:
        return self.sample(z)


@dataclass(frozen=True)
class EngineProfile:
    name: str
    title: str
    stop_grace_s: float            # SIGTERM, then SIGKILL after this
    start_delay: Delay             # from "start a task" to the container running
    volume: str                    # "ephemeral" | "kept"
    instance_id: str               # "stable" | "new"
    spot_warning_s: float | None   # notice before a spot/preemptible stop; None: no spot offering
    sources: Mapping[str, str] = field(default_factory=dict)  # field -> "URL (checked DATE): what it says"

    def __post_init__(self):
        if self.volume not in VOLUMES:
            raise ValueError(f"{self.name}: volume {self.volume!r} is not one of {', '.join(VOLUMES)}")
        if self.instance_id not in INSTANCE_IDS:
            raise ValueError(f"{self.name}: instance_id {self.instance_id!r} is not one of "
                             f"{', '.join(INSTANCE_IDS)}")
        if self.stop_grace_s <= 0:
            raise ValueError(f"{self.name}: stop_grace_s must be positive")


@dataclass(frozen=True)
class FunctionProfile:
    name: str
    title: str
    max_request_bytes: int | None            # a body over this is refused (413); None: no limit
    max_buffered_response_bytes: int | None  # a response built whole in memory
    max_streamed_response_bytes: int | None  # a streamed response; None: no limit
    stream_unthrottled_bytes: int | None     # streamed at full speed before the cap applies
    stream_rate_bytes_s: float | None        # the cap after that prefix; None: uncapped
    timeout_s: float | None                  # the request is cut after this; None: no limit
    instances_max: int                       # concurrency a new account/app gets (instances)
    instance_concurrency: int                # requests one instance serves at once
    keep_alive_s: float | None               # an idle instance is reaped after this; None: never
    cold_start: Delay                        # a new instance's start before it serves
    sources: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self):
        if self.instances_max < 1 or self.instance_concurrency < 1:
            raise ValueError(f"{self.name}: instances_max and instance_concurrency must be >= 1")

    @property
    def streams(self) -> bool:
        return self.stream_rate_bytes_s is not None

    @property
    def max_response_bytes(self) -> int | None:
        """The largest response the platform lets out, streamed if it streams."""
        return self.max_streamed_response_bytes if self.streams else self.max_buffered_response_bytes


def _src(url: str, says: str) -> str:
    return f"{url} (checked {CHECKED}): {says}"


# ---- engine platforms ----------------------------------------------------------

_ECS_STOP = _src("https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ContainerDefinition.html",
                 "stopTimeout defaults to 30 s on Fargate (max 120 s) between SIGTERM and SIGKILL")
_FARGATE_SPOT = _src("https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-capacity-providers.html",
                     "Fargate Spot tasks get a two-minute warning, then SIGTERM")
_FARGATE_STORAGE = _src("https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-task-storage.html",
                        "task ephemeral storage is deleted when the task stops")
_CLOUD_RUN_CONTRACT = _src("https://cloud.google.com/run/docs/container-contract",
                           "SIGTERM, then SIGKILL 10 seconds later; the filesystem is in-memory, "
                           "gone with the instance")
_ACI_SPOT = _src("https://learn.microsoft.com/en-us/azure/architecture/guide/spot/spot-eviction",
                 "Azure Spot capacity is evicted with up to 30 seconds of notice (ACI Spot containers "
                 "run on it: https://learn.microsoft.com/en-us/azure/container-instances/"
                 "container-instances-spot-containers-overview)")
_K8S_GRACE = _src("https://kubernetes.io/docs/concepts/workloads/pods/pod-lifecycle/#pod-termination",
                  "terminationGracePeriodSeconds defaults to 30 s")
_K8S_STS = _src("https://kubernetes.io/docs/concepts/workloads/controllers/statefulset/",
                "a StatefulSet pod keeps its name (stable identity) and its PersistentVolumeClaim")
_OBSERVED_START = "observed: not published; typical task start with a cached image"

ENGINE_PROFILES: Mapping[str, EngineProfile] = MappingProxyType({p.name: p for p in (
    EngineProfile(
        "fargate", "AWS ECS on Fargate", stop_grace_s=30.0,
        start_delay=Delay(median_s=35.0, p90_s=60.0),  # pull + ENI attach; about a minute at worst
        volume="ephemeral", instance_id="new", spot_warning_s=120.0,
        sources=MappingProxyType({"stop_grace_s": _ECS_STOP, "spot_warning_s": _FARGATE_SPOT,
                                  "volume": _FARGATE_STORAGE,
                                  "instance_id": _src("https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-metadata-endpoint-v4.html",
                                                      "every task has a new task ARN"),
                                  "start_delay": _OBSERVED_START + " (image pull and ENI attachment)"})),
    EngineProfile(
        "cloud-run", "Google Cloud Run", stop_grace_s=10.0,
        start_delay=Delay(median_s=4.0, p90_s=10.0),
        volume="ephemeral", instance_id="new", spot_warning_s=None,
        sources=MappingProxyType({"stop_grace_s": _CLOUD_RUN_CONTRACT, "volume": _CLOUD_RUN_CONTRACT,
                                  "instance_id": _src("https://cloud.google.com/run/docs/container-contract",
                                                      "each instance has its own instance id (metadata server)"),
                                  "spot_warning_s": "Cloud Run has no spot offering",
                                  "start_delay": _OBSERVED_START})),
    EngineProfile(
        "aci", "Azure Container Instances", stop_grace_s=30.0,
        start_delay=Delay(median_s=45.0, p90_s=90.0),
        volume="ephemeral", instance_id="new", spot_warning_s=30.0,
        sources=MappingProxyType({"stop_grace_s": "observed: ACI documents no grace; containers get "
                                                  "SIGTERM and about 30 s, like Docker's stop default",
                                  "volume": _src("https://learn.microsoft.com/en-us/azure/container-instances/container-instances-volume-azure-files",
                                                 "container storage is ephemeral unless an Azure Files share is mounted"),
                                  "instance_id": "a recreated container group runs new containers",
                                  "spot_warning_s": _ACI_SPOT,
                                  "start_delay": _OBSERVED_START + " (ACI starts are slower than Fargate's)"})),
    EngineProfile(
        "kubernetes", "Kubernetes StatefulSet with PVCs", stop_grace_s=30.0,
        start_delay=Delay(median_s=3.0, p90_s=8.0),
        volume="kept", instance_id="stable", spot_warning_s=None,
        sources=MappingProxyType({"stop_grace_s": _K8S_GRACE, "volume": _K8S_STS, "instance_id": _K8S_STS,
                                  "spot_warning_s": "depends on the node pool's cloud (EKS spot 120 s, "
                                                    "GKE spot 30 s); not modelled",
                                  "start_delay": _OBSERVED_START + " on a node with capacity"})),
)})

# ---- function platforms --------------------------------------------------------

_LAMBDA_LIMITS = "https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html"
_LAMBDA_STREAM = "https://docs.aws.amazon.com/lambda/latest/dg/configuration-response-streaming.html"
_GCF_QUOTAS = "https://cloud.google.com/functions/quotas"
_AZ_HTTP = "https://learn.microsoft.com/en-us/azure/azure-functions/functions-bindings-http-webhook-trigger"
_AZ_SCALE = "https://learn.microsoft.com/en-us/azure/azure-functions/functions-scale"

FUNCTION_PROFILES: Mapping[str, FunctionProfile] = MappingProxyType({p.name: p for p in (
    FunctionProfile(
        "lambda-url", "AWS Lambda behind a Function URL",
        max_request_bytes=6 * MiB, max_buffered_response_bytes=6 * MiB,
        max_streamed_response_bytes=200 * MiB, stream_unthrottled_bytes=6 * MiB,
        stream_rate_bytes_s=2 * MiB, timeout_s=900.0,
        instances_max=1000, instance_concurrency=1, keep_alive_s=600.0,
        cold_start=Delay(median_s=0.25, p90_s=1.0),
        sources=MappingProxyType({
            "max_request_bytes": _src(_LAMBDA_LIMITS, "invocation payload 6 MB each for request and "
                                                      "response (synchronous)"),
            "max_buffered_response_bytes": _src(_LAMBDA_LIMITS, "6 MB buffered response"),
            "max_streamed_response_bytes": _src(_LAMBDA_STREAM, "streamed responses up to 200 MB"),
            "stream_unthrottled_bytes": _src(_LAMBDA_STREAM, "the first 6 MB stream uncapped"),
            "stream_rate_bytes_s": _src(_LAMBDA_STREAM, "after the first 6 MB, at most 2 MBps"),
            "timeout_s": _src(_LAMBDA_LIMITS, "function timeout 900 seconds (15 minutes)"),
            "instances_max": _src(_LAMBDA_LIMITS, "concurrent executions: 1,000 per Region by default"),
            "instance_concurrency": "https://docs.aws.amazon.com/lambda/latest/dg/lambda-concurrency.html "
                                    f"(checked {CHECKED}): an execution environment serves one request at a time",
            "keep_alive_s": "observed: not published; idle environments are commonly reused for 5-15 minutes",
            "cold_start": _src("https://aws.amazon.com/blogs/compute/operating-lambda-performance-optimization-part-1/",
                               "cold starts range from under 100 ms to over 1 second"),
        })),
    FunctionProfile(
        "gcf", "Google Cloud Run functions (2nd gen)",
        max_request_bytes=32 * MiB, max_buffered_response_bytes=32 * MiB,
        max_streamed_response_bytes=10 * MiB, stream_unthrottled_bytes=None, stream_rate_bytes_s=None,
        timeout_s=3600.0,
        instances_max=100, instance_concurrency=1, keep_alive_s=900.0,
        cold_start=Delay(median_s=0.5, p90_s=2.0),
        sources=MappingProxyType({
            "max_request_bytes": _src(_GCF_QUOTAS, "max uncompressed HTTP request 32MB (2nd gen)"),
            "max_buffered_response_bytes": _src(_GCF_QUOTAS, "32MB for non-streaming responses (2nd gen)"),
            "max_streamed_response_bytes": _src(_GCF_QUOTAS, "10MB for streaming responses (2nd gen)"),
            "stream_rate_bytes_s": "no documented streaming rate cap",
            "timeout_s": _src(_GCF_QUOTAS, "HTTP functions run at most 60 minutes (2nd gen)"),
            "instances_max": _src("https://cloud.google.com/functions/docs/configuring/max-instances",
                                  "maximum instances default 100 (2nd gen)"),
            "instance_concurrency": _src("https://cloud.google.com/functions/docs/configuring/concurrency",
                                         "functions deployed with the functions API default to 1 request per instance"),
            "keep_alive_s": "observed: not published; Cloud Run keeps idle instances up to 15 minutes",
            "cold_start": "observed: not published; Python instances start in 0.5-2 s",
        })),
    FunctionProfile(
        "azure", "Azure Functions, HTTP trigger (Consumption plan)",
        max_request_bytes=100 * MiB, max_buffered_response_bytes=None,
        max_streamed_response_bytes=None, stream_unthrottled_bytes=None, stream_rate_bytes_s=None,
        timeout_s=230.0,
        instances_max=200, instance_concurrency=100, keep_alive_s=1200.0,
        cold_start=Delay(median_s=1.5, p90_s=5.0),
        sources=MappingProxyType({
            "max_request_bytes": _src(_AZ_HTTP, "the HTTP request length is limited to 100 MB "
                                                "(104,857,600 bytes)"),
            "max_buffered_response_bytes": "no documented response size limit",
            "timeout_s": _src(_AZ_SCALE, "230 seconds is the maximum an HTTP triggered function can take "
                                         "to respond (the Azure Load Balancer idle timeout), whatever "
                                         "functionTimeout says"),
            "instances_max": _src(_AZ_SCALE, "Consumption plan scales out to at most 200 instances (Windows)"),
            "instance_concurrency": _src("https://learn.microsoft.com/en-us/azure/azure-functions/functions-host-json",
                                         "extensions.http.maxConcurrentRequests defaults to 100 on Consumption"),
            "keep_alive_s": _src("https://azure.microsoft.com/en-us/blog/understanding-serverless-cold-start/",
                                 "an idle instance is deallocated after about 20 minutes"),
            "cold_start": "observed: not published; Consumption-plan Python cold starts of 1-5 s",
        })),
    FunctionProfile(
        "container", "Any HTTPS host: the function as a long-running container (today's aiohttp function)",
        max_request_bytes=None, max_buffered_response_bytes=None, max_streamed_response_bytes=None,
        stream_unthrottled_bytes=None, stream_rate_bytes_s=None, timeout_s=None,
        instances_max=1, instance_concurrency=256, keep_alive_s=None,
        cold_start=Delay(median_s=0.0, p90_s=0.0),
        sources=MappingProxyType({
            "max_request_bytes": "none of the platform's; the function's own max_payload (100 MiB) applies",
            "instances_max": "one long-running process serving every request",
            "instance_concurrency": "the function's own max_inflight (256)",
            "keep_alive_s": "a container is never reaped for being idle",
        })),
)})


def _lookup(table: Mapping, kind: str, name: str):
    try:
        return table[name]
    except (KeyError, TypeError):
        raise UnknownProfile(f"unknown {kind} profile {name!r}; profiles are {', '.join(table)}") from None


def engine_profile(name: str) -> EngineProfile:
    return _lookup(ENGINE_PROFILES, "platform", name)


def function_profile(name: str) -> FunctionProfile:
    return _lookup(FUNCTION_PROFILES, "function", name)


# ---- what a profile means for a workload (pure arithmetic, shown before deploying) -----

def push_parts(profile: FunctionProfile, size: int) -> int:
    """How many requests a push of `size` bytes needs under the request limit."""
    if size <= 0:
        return 1
    limit = profile.max_request_bytes
    return 1 if limit is None else -(-size // limit)


def stream_seconds(profile: FunctionProfile, size: int) -> float:
    """Seconds the platform's streaming cap alone makes a response of `size` bytes last
    (0 when the platform does not cap), whether or not the platform lets it be that large."""
    if profile.stream_rate_bytes_s is None:
        return 0.0
    return max(0, size - (profile.stream_unthrottled_bytes or 0)) / profile.stream_rate_bytes_s


def response_fits(profile: FunctionProfile, size: int) -> bool:
    """Whether a response of `size` bytes gets out whole (a longer one is cut at the maximum)."""
    limit = profile.max_response_bytes
    return limit is None or size <= limit


def fit_report(profile: FunctionProfile, push_bytes: int = 100 * MiB,
               restore_bytes: int = 1024 * MiB) -> list[str]:
    """Lines a user reads before deploying: what a large push and restore meet on this platform."""
    lines = [f"function profile {profile.name}: {profile.title}"]
    req = profile.max_request_bytes
    parts = push_parts(profile, push_bytes)
    lines.append(f"  a {_size(push_bytes)} push: " + (
        "one request (no platform request limit)" if req is None else
        f"one request (limit {_size(req)})" if parts == 1 else
        f"must be split into {parts} parts of at most {_size(req)} (413 above that)"))
    whole = stream_seconds(profile, restore_bytes)
    rate = (f"streamed at {_size(profile.stream_rate_bytes_s)}/s after the first "
            f"{_size(profile.stream_unthrottled_bytes or 0)}" if profile.streams else "")
    if response_fits(profile, restore_bytes):
        restore = f"{rate}: {whole:.0f} s at least" if rate else "one response, not rate-capped by the platform"
    else:
        limit = profile.max_response_bytes
        restore = (f"cut at the platform's {_size(limit)} response maximum"
                   + (f" (after {stream_seconds(profile, limit):.0f} s); {rate}, the whole of it "
                      f"would take {whole:.0f} s" if rate else "")
                   + f"; keep a restore chain under {_size(limit)}")
    lines.append(f"  a {_size(restore_bytes)} restore: {restore}")
    if profile.timeout_s is not None:
        lines.append(f"  every request is cut at {profile.timeout_s:g} s")
        if rate and response_fits(profile, restore_bytes) and whole > profile.timeout_s:
            lines.append("  that restore outlasts the timeout: it cannot finish")
        elif not rate and response_fits(profile, restore_bytes):
            lines.append(f"  so that {_size(restore_bytes)} restore must move at least "
                         f"{_size(restore_bytes / profile.timeout_s)}/s end to end (502 otherwise)")
    return lines


def _size(n: float) -> str:
    for unit, scale in (("GiB", 1024 * MiB), ("MiB", MiB), ("KiB", 1024)):
        if n >= scale:
            value = n / scale
            return f"{value:.0f} {unit}" if value == int(value) else f"{value:.1f} {unit}"
    return f"{n:.0f} B"
