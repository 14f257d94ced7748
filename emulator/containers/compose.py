"""The compose file of a ComposePlan: pure (plan in, document and text out).

Seed 001's three persistence modes, each a set of services on the host's
network (`network_mode: host`: every port is on loopback, fixed by the plan):

- serverless: each engine pushes to the WKP-1 function at WEFTKIT_PERSIST_ENDPOINT,
  signing with the secret from the env file. Without --endpoint the file also
  runs the emulator's function and its S3 store, so it works offline as it is.
- container: each engine pushes to its own persistence sidecar service (a
  WKP-1 function on loopback, as docs/engines.md describes the sidecar), and
  every sidecar writes to the central store: the emulator's, or --endpoint.
- disabled: engines and their volumes, nothing else.

The emulator's store keeps its objects in a directory beside the file (a bind
mount), not in a named volume: `down -v` removes the engines' volumes, as a
recycled pod loses its disk, while the store, like a customer's bucket, lives
outside the stack and survives it. Every engine's instance id is its service
name, so an engine on a fresh volume restores its own subtree.

Only what both compose implementations accept is written: no `version:` key
(docker-compose 1.29 reads a file without one as the Compose Specification;
compose v2 ignores the key and warns that it is obsolete), no `name:` key (1.29
rejects it), no healthcheck `start_interval` (newer than 1.29).
"""
from __future__ import annotations

from emulator.protocol.engine_config import ConfigError, parse_engine_config

from . import compose_yaml
from .compose_env import SECRET_VARIABLE
from .compose_plan import (DEFAULT_BUCKET, DEFAULT_ENGINES, DEFAULT_ENV_FILE,
                           DEFAULT_PORT_BASE, DEFAULT_SCHEDULE, DEFAULT_STORE_DIR, DEFAULT_TENANT,
                           ComposeError, ComposePlan, EngineSlot)

DATA_DIR = "/data"                       # the engine's volume inside its container
STORE_DATA_DIR = "/store"                # the store's directory inside its container
STORE_READY_FILE = "/tmp/wkp-emu-store.ready"
ENGINE_STOP_GRACE = "45s"                # the seed's 30 s shutdown budget for the final flush, and a margin
STORE_STOP_GRACE = "120s"                # the store writes every object to its directory when it stops
FUNCTION_STOP_GRACE = "30s"              # lets the last pushes of stopping engines finish
# A service that fails is started again, as a platform restarts a failed task or pod: an engine
# that could not restore (exit 4) tries again; one stopped by `down` or `stop` is not restarted.
RESTART = "on-failure"
# Which option produced which engine variable, so an engine-side refusal names the option.
_OPTION_OF = {"WEFTKIT_PERSIST_ENDPOINT": "--endpoint", "WEFTKIT_PERSIST_SCHEDULE": "--schedule",
              "WEFTKIT_PERSIST_TENANT": "--tenant"}


def _engine_environment(plan: ComposePlan, slot: EngineSlot) -> dict[str, str]:
    """The WEFTKIT_PERSIST_* variables of one engine: all eleven of the seed for a mode
    that persists (the secret comes from the env file), only the mode when disabled."""
    env = {"WEFTKIT_PERSIST_MODE": plan.mode}
    if plan.mode == "disabled":
        return env
    env.update({
        "WEFTKIT_PERSIST_ENDPOINT": plan.engine_endpoint(slot),
        "WEFTKIT_PERSIST_SCHEDULE": plan.schedule,
        "WEFTKIT_PERSIST_ON_SHUTDOWN": "true",
        "WEFTKIT_PERSIST_RESTORE_ON_BOOT": "true",
        "WEFTKIT_PERSIST_STRATEGY": "incremental",
        "WEFTKIT_PERSIST_MAX_RETRIES": "5",
        "WEFTKIT_PERSIST_COMPRESSION": "zstd",
        "WEFTKIT_PERSIST_TENANT": plan.tenant,
        "WEFTKIT_PERSIST_INSTANCE_ID": slot.name,
    })
    return env


def check_engine_settings(plan: ComposePlan) -> None:
    """Refuse a file whose engines would refuse their configuration at boot: each engine's
    environment goes through the engine's own parser (with a stand-in secret)."""
    for slot in plan.slots:
        env = _engine_environment(plan, slot)
        if plan.needs_secret:
            env[SECRET_VARIABLE] = "x"
        try:
            parse_engine_config(env)
        except ConfigError as exc:
            option = _OPTION_OF.get(exc.variable, exc.variable)
            raise ComposeError(option, str(exc).split(": ", 1)[1]) from None


def _tcp_check(port: int) -> list[str]:
    # bash's /dev/tcp: a connect costs a millisecond, where a Python start costs tens,
    # and docker runs the check every interval for as long as the service runs.
    return ["CMD", "bash", "-c", f"exec 3<>/dev/tcp/127.0.0.1/{port}"]


def _engine_check(port: int) -> list[str]:
    # Healthy once the engine serves: restored (or fresh) and accepting writes.
    script = ("import json, urllib.request as r; "
              f"s = json.load(r.urlopen('http://127.0.0.1:{port}/status', timeout=10)); "
              "raise SystemExit(s['phase'] in ('booting', 'restoring', 'restore_wait', 'exited'))")
    return ["CMD", "python3", "-c", script]


# How long a service may take to become healthy. During start_period a failing check does not
# count and the first passing one makes the service healthy at once, so a long one costs a quick
# start nothing, and a Python start on a loaded 2-core machine (or a store loading a large
# archive) is waited for; after it, `retries` failures in a row make the service unhealthy, so a
# service that never serves fails `up` in bounded time (start_period + retries x interval).
# The timeout covers docker's exec of the check as well as the check: seconds under load.
CHECK_TIMEOUT = "15s"
STORE_START_PERIOD = "300s"     # loads its whole archive before it is healthy
FUNCTION_START_PERIOD = "120s"  # the function and container mode's sidecars
ENGINE_START_PERIOD = "120s"    # then up to 60 checks 5 s apart while it restores
RETRIES = {"1s": 30, "5s": 60}  # by interval


def _healthcheck(test: list[str], interval: str, start_period: str) -> dict:
    return {"test": test, "interval": interval, "timeout": CHECK_TIMEOUT, "retries": RETRIES[interval],
            "start_period": start_period}


def _healthy(*services: str) -> dict:
    return {name: {"condition": "service_healthy"} for name in services}


def _secret_shell(command: list[str]) -> list[str]:
    """A command that takes the secret as an argument, run through sh so that the secret
    comes from the container's environment (the env file), never from this file. `$$`
    is compose's escape for a literal `$`."""
    words = " ".join(command)
    return [f'exec {words} --secret "$${SECRET_VARIABLE}"']


def _store_service(plan: ComposePlan) -> dict:
    return {
        "image": plan.image,
        "command": ["store", "--host", "127.0.0.1", "--port", str(plan.store_port),
                    "--bucket", plan.bucket, "--data-dir", STORE_DATA_DIR,
                    "--ready-file", STORE_READY_FILE],
        "network_mode": "host",
        "restart": RESTART,
        "volumes": [f"./{plan.store_dir}:{STORE_DATA_DIR}"],
        "healthcheck": _healthcheck(["CMD", "test", "-f", STORE_READY_FILE], "1s", STORE_START_PERIOD),
        "stop_grace_period": STORE_STOP_GRACE,
    }


def _function_like(plan: ComposePlan, port: int) -> dict:
    """The emulator's WKP-1 function on `port`, writing to the plan's store: the
    serverless file's function, and (one per engine) container mode's sidecar."""
    service = {
        "image": plan.image,
        "entrypoint": ["sh", "-c"],
        "command": _secret_shell(["wkp-emu", "function", "--host", "127.0.0.1", "--port", str(port),
                                  "--s3-endpoint", plan.store_url, "--bucket", plan.bucket]),
        "network_mode": "host",
        "restart": RESTART,
        "env_file": [plan.env_file],
    }
    if plan.has_store:
        service["depends_on"] = _healthy("store")
    service["healthcheck"] = _healthcheck(_tcp_check(port), "1s", FUNCTION_START_PERIOD)
    service["stop_grace_period"] = FUNCTION_STOP_GRACE
    return service


def _engine_service(plan: ComposePlan, slot: EngineSlot) -> dict:
    service = {
        "image": plan.image,
        "command": ["engine", "--kind", slot.kind, "--data-dir", DATA_DIR, "--host", "127.0.0.1",
                    "--port", str(slot.port)],
        "network_mode": "host",
        "restart": RESTART,
    }
    if plan.needs_secret:
        service["env_file"] = [plan.env_file]
    service["environment"] = _engine_environment(plan, slot)
    service["volumes"] = [f"{slot.volume}:{DATA_DIR}"]
    if plan.mode == "container":
        service["depends_on"] = _healthy(slot.sidecar_name)
    elif plan.has_function:
        service["depends_on"] = _healthy("function")
    service["healthcheck"] = _healthcheck(_engine_check(slot.port), "5s", ENGINE_START_PERIOD)
    service["stop_grace_period"] = ENGINE_STOP_GRACE
    return service


def compose_document(plan: ComposePlan) -> dict:
    services: dict[str, dict] = {}
    if plan.has_store:
        services["store"] = _store_service(plan)
    if plan.has_function:
        services["function"] = _function_like(plan, plan.function_port)
    for slot in plan.slots:
        if plan.mode == "container":
            services[slot.sidecar_name] = _function_like(plan, slot.sidecar_port)
        services[slot.name] = _engine_service(plan, slot)
    return {"services": services, "volumes": {slot.volume: {} for slot in plan.slots}}


def engines_text(plan: ComposePlan) -> str:
    """The plan's engines in --engines form, e.g. relational=1,vector=2."""
    counts: dict[str, int] = {}
    for slot in plan.slots:
        counts[slot.kind] = counts.get(slot.kind, 0) + 1
    return ",".join(f"{kind}={n}" for kind, n in counts.items())


def command_line(plan: ComposePlan, output: str = "docker-compose.yml") -> str:
    """The `wkp-emu compose` command that writes this file (only the options that differ
    from their defaults), for the file's header."""
    words = ["wkp-emu", "compose", "--mode", plan.mode]
    engines = engines_text(plan)
    if engines != DEFAULT_ENGINES:
        words += ["--engines", engines]
    optional = (("--endpoint", plan.endpoint, None), ("--port-base", plan.port_base, DEFAULT_PORT_BASE),
                ("--schedule", plan.schedule, DEFAULT_SCHEDULE), ("--tenant", plan.tenant, DEFAULT_TENANT),
                ("--bucket", plan.bucket, DEFAULT_BUCKET), ("--env-file", plan.env_file, DEFAULT_ENV_FILE),
                ("--store-dir", plan.store_dir, DEFAULT_STORE_DIR))
    for option, value, default in optional:
        if value != default:
            text = str(value)
            words += [option, f"'{text}'" if " " in text or "*" in text else text]
    if output != "docker-compose.yml":
        words += ["-o", output]
    return " ".join(words)


def _header(plan: ComposePlan, command: str) -> str:
    what = {"serverless": "serverless persistence: engines push to a WKP-1 function",
            "container": "container persistence: a persistence sidecar per engine, one central store",
            "disabled": "persistence disabled: state lives only in each engine's volume"}[plan.mode]
    lines = [f"WeftKit engines, {what}.", f"Written by: {command}",
             "Run: docker compose up -d    (docker-compose 1.29: docker-compose up -d)"]
    if plan.needs_secret:
        lines.append(f"The engines' signing secret ({SECRET_VARIABLE}) is in {plan.env_file}; "
                     "keep that file out of version control.")
    if plan.has_store:
        lines.append(f"The emulator's store keeps its objects in ./{plan.store_dir}/ (written when it "
                     "stops); `down -v` keeps them.")
    lines.append("All services use the host's network; every port is on 127.0.0.1.")
    return "\n".join(lines)


def render(plan: ComposePlan, *, output: str = "docker-compose.yml") -> str:
    """The file's text: a header saying what it is and how to run it, then the document."""
    return compose_yaml.dump(compose_document(plan), comment=_header(plan, command_line(plan, output)))
