"""Readable output of the CLI verbs (pure formatting): the `status` and `fault list`
tables, and one line per effect of the other verbs."""
from __future__ import annotations

import signal


def _cell(value) -> str:
    if value is None or value == "":
        return "-"
    if isinstance(value, dict):
        return ",".join(f"{k}={v}" for k, v in value.items() if v is not None) or "-"
    return str(value)


def _grid(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(header)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return "\n".join([fmt.format(*header), fmt.format(*("-" * w for w in widths))]
                     + [fmt.format(*r) for r in rows])


def _discovery(d) -> str:
    if not isinstance(d, dict):
        return _cell(d)
    return "registered" if d.get("registered") else "not registered"


def status_table(health: dict, info: dict, engines: list[dict]) -> str:
    services = ", ".join(f"{k} {v}" for k, v in health.get("services", {}).items())
    head = (f"emulator {health.get('status')} (up {health.get('uptime_s')} s): {services}\n"
            f"function {info.get('function')}  s3 {info.get('s3_endpoint')} bucket {info.get('bucket')}"
            f"  discovery {info.get('discovery') or '-'}\n")
    rows = []
    for e in engines:
        push = e.get("last_push") or {}
        boot = e.get("boot") or {}
        rows.append([e["name"], e["state"], _cell(e.get("pid")), _cell(e.get("port")),
                     _cell(e.get("instance_id")), _cell(e.get("cursor")),
                     f"{_cell(e.get('lsn'))}/{_cell(e.get('durable_lsn'))}",
                     f"{_cell(push.get('kind'))} {_cell(push.get('status'))}",
                     _cell(e.get("buffered_bytes")), _cell(boot.get("how") if isinstance(boot, dict) else boot),
                     _discovery(e.get("discovery"))])
    return head + _grid(["ENGINE", "STATE", "PID", "PORT", "INSTANCE", "CURSOR", "LSN/DURABLE",
                         "LAST PUSH", "BUFFERED", "BOOT", "DISCOVERY"], rows)


def fault_table(faults: dict) -> str:
    rows = []
    for f in faults.get("function", []):
        target = "store" if f["kind"].startswith("store_") else "function"
        detail = {k: f[k] for k in ("status", "rate", "count", "retry_after", "ms", "jitter_ms", "bytes")
                  if f.get(k) not in (None, 0)}
        rows.append([str(f["id"]), target, f["kind"].removeprefix("store_"), _cell(detail)])
    for name, skew in (faults.get("engines") or {}).items():
        rows.append(["-", "engine", "clock_skew", f"{name} {skew:+} s"])
    for name in faults.get("discovery_partitioned") or ():
        rows.append(["-", "engine", "discovery_partition", f"{name} cut off from discovery"])
    disc = faults.get("discovery")
    if disc:
        rows.append(["-", "discovery", "network", _cell(disc) if isinstance(disc, dict) else str(disc)])
    return _grid(["ID", "TARGET", "KIND", "SETTINGS"], rows) if rows else "no faults set"


# ------------------------------------------------ one line per effect of a CLI verb


def _signal_note(code) -> str:
    if isinstance(code, int) and code < 0:
        try:
            return f" ({signal.Signals(-code).name})"
        except ValueError:
            return ""
    return ""


def pod_line(verb: str, pod: dict) -> str:
    """'recycled vector-1: generation 3, pid 4242, port 40711, instance vector-1'."""
    line = (f"{verb} {pod['name']}: generation {pod.get('generation')}, pid {_cell(pod.get('pid'))}, "
            f"port {_cell(pod.get('port'))}, instance {_cell(pod.get('instance_id'))}")
    if pod.get("state") != "running":
        line += f" ({pod.get('state')}{': ' + pod['failure'] if pod.get('failure') else ''})"
    return line


def killed_line(pod: dict) -> str:
    code = pod.get("exit_code")
    return (f"killed {pod['name']}: pid {_cell(pod.get('pid'))} exited {_cell(code)}{_signal_note(code)}, "
            "no final flush")


def scaled_lines(result: dict) -> list[str]:
    kind, n = result["kind"], result["replicas"]
    started, stopped = result.get("started") or [], result.get("stopped") or []
    if not started and not stopped:
        return [f"{kind} already at {n} replica{'s' * (n != 1)}"]
    return ([f"scaled {kind} to {n} replica{'s' * (n != 1)}"]
            + [f"started {name}" for name in started] + [f"stopped {name}" for name in stopped])


def _settings(spec: dict, skip: tuple[str, ...]) -> str:
    parts = []
    for key, value in spec.items():
        if key in skip or value in (None, 0, "", [], {}):
            continue
        if key == "rate" and value == 1:
            continue
        if key == "paths":
            if set(value) == {"/persist", "/restore", "/health"}:
                continue
            value = ",".join(value)
        parts.append(f"{key}={value}")
    return " ".join(parts)


def fault_set_line(result: dict) -> str:
    """'fault 3 set: function error status=503 count=3 paths=/persist'."""
    if "engine" in result and "clock_skew_s" in result:
        return f"fault set: engine {result['engine']} clock_skew_s={result['clock_skew_s']:+}"
    if "id" in result:
        target = result.get("target", "function")
        kind = result["kind"].removeprefix("store_")
        skip = ("id", "kind", "target") + (() if kind == "error" else ("status",))
        settings = _settings(result, skip)
        return f"fault {result['id']} set: {target} {kind}" + (f" {settings}" if settings else "")
    plan = result.get("plan") if isinstance(result.get("plan"), dict) else result
    return f"fault set: discovery {_settings(plan, ()) or '(no settings)'}"


def faults_cleared_line(cleared: dict) -> str:
    disc = cleared.get("discovery")
    disc = disc if isinstance(disc, int) else ("cleared" if disc else 0)
    return (f"faults cleared: function/store {cleared.get('function', 0)}, "
            f"engine clocks {cleared.get('engines', 0)}, discovery {disc}")


# ------------------------------------------------ the function's instances and platform


def _bytes(n) -> str:
    if not isinstance(n, (int, float)):
        return "-"
    for unit in ("B", "KiB", "MiB"):
        if n < 1024:
            return f"{round(n, 1):g} {unit}"
        n /= 1024
    return f"{round(n, 1):g} GiB"


def _plural(n, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def instances_counts(instances: dict) -> tuple[str, str]:
    """('1 live, 0 busy (max 4 x 256)', '1 cold start, 32 warm hits, 0 throttles, 0 reaped')."""
    s = instances.get("settings") or {}
    most = f" (max {_cell(s.get('instances_max'))} x {_cell(s.get('instance_concurrency'))})" if s else ""
    return (f"{instances.get('live', 0)} live, {instances.get('busy', 0)} busy{most}",
            f"{_plural(instances.get('cold_starts', 0), 'cold start')}, "
            f"{_plural(instances.get('warm_hits', 0), 'warm hit')}, "
            f"{_plural(instances.get('throttles', 0), 'throttle')}, {instances.get('reaped', 0)} reaped")


def instances_summary(instances: dict) -> str:
    """'1 live, 0 busy (max 4 x 256): 1 cold start, 32 warm hits, 0 throttles, 0 reaped'."""
    return ": ".join(instances_counts(instances))


def instance_line(one: dict) -> str:
    """'i-1  inflight 0  invocations 33  idle 1.0 s' (idle '-' while it serves)."""
    idle = one.get("idle_s")
    idle = "-" if idle is None else f"{idle:.1f} s"
    pid = f"  pid {one['pid']}" if one.get("pid") else ""
    return f"{one.get('id')}  inflight {one.get('inflight', 0)}  invocations {one.get('invocations', 0)}  idle {idle}{pid}"


def platform_line(platform: dict) -> str | None:
    """'platform lambda: payload 6 MiB, response 6 MiB, stream 2 MiB/s after 6 MiB,
    timeout 900 s'; 'platform lambda-url (target lambda)' under a stand-in; None when
    no profile is set (today's aiohttp function)."""
    if not platform or not platform.get("profile"):
        return None
    parts = [f"payload {_bytes(platform['max_payload'])}"] if platform.get("max_payload") else []
    if platform.get("max_response_bytes"):
        parts.append(f"response {_bytes(platform['max_response_bytes'])}")
    if platform.get("stream_rate_bytes_s"):
        parts.append(f"stream {_bytes(platform['stream_rate_bytes_s'])}/s after "
                     f"{_bytes(platform.get('stream_unthrottled_bytes') or 0)}")
    if platform.get("timeout_s"):
        parts.append(f"timeout {platform['timeout_s']:g} s")
    # `up --function lambda|gcf|azure` names its stand-in (target) and the profile only
    head = f"platform {platform['profile']}" + (f" (target {platform['target']})" if platform.get("target") else "")
    return head + (": " + ", ".join(parts) if parts else "")


def function_lines(function: dict, width: int = 80) -> list[str]:
    """What `status` prints of GET /v1/function: the instance counters (two lines) and,
    when a platform profile is set, its limits; wrapped to `width` so 80 columns
    hold whatever the numbers (a continuation is indented)."""
    import textwrap
    out = []
    if isinstance(function.get("instances"), dict):
        live, counters = instances_counts(function["instances"])
        out += [f"function instances: {live}", f"  {counters}"]
    platform = platform_line(function.get("platform") or {})
    if platform:
        out.append(platform)
    return [wrapped for line in out for wrapped in textwrap.wrap(line, width, subsequent_indent="  ")]
