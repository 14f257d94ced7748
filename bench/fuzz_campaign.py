"""Generated-request campaigns against the running services (schemathesis + hypothesis).

Starts each service for real on loopback, generates requests from its OpenAPI
description (docs/function-openapi.yaml, docs/control-openapi.yaml,
docs/discovery-openapi.yaml), positive and negative cases alike, sends them,
and counts requests, statuses, 5xx the contract does not allow, crashes and
undocumented statuses; then checks that the service is still healthy. One line
per service; exit 1 if any rule is broken:

- no 5xx except one the description lists for that operation (the function:
  503 for a transient store failure only; the control API lists none);
- no crash: no connection reset or timeout, and the process still running;
- the service healthy afterwards (signed GET /health for the function);
- at least --requests requests sent within the time budget.

    python bench/fuzz_campaign.py [--requests 10000] [--budget-s 900]
                                  [--services function,control,discovery] [--seed 0]

The function is fuzzed in two phases over the same generated cases: as
generated (mostly unsigned or badly signed, so the 401 gate answers), then
signed correctly with the secret and a fresh timestamp, with identifiers drawn
from a small pool and the checksum of the body, so requests reach the header,
chain and restore logic behind the gate. Requests that would end the run or
make it meaningless are held back or neutralised, and the output says how many.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import queue
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import requests
import urllib3
import schemathesis
import yaml
from hypothesis import HealthCheck, Phase, given, seed, settings
from schemathesis import GenerationMode

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench._common import REPO, SECRET, env  # noqa: E402
from emulator.protocol import names as n  # noqa: E402
from emulator.protocol.signed_requests import health_request  # noqa: E402
from emulator.protocol.signing import body_digest, sign_request  # noqa: E402

CHUNK = 250                 # examples per hypothesis run; the budget is checked between runs
TIMEOUT_S = 30.0            # per request: any longer counts as a crash (a hung handler); the
                            # control API itself gives an engine 10 s to answer what it forwards
TENANTS, ENGINES, INSTANCES = ("default", "t-2"), ("relational", "vector"), ("i-1", "i-2")
UP_TOML = """
[emulator]
control_port = 0
[function]
port = 0
[store]
port = 0
[discovery]
udp_port = 0
api_port = 0
[defaults.env]
WEFTKIT_PERSIST_SCHEDULE = "*/5 * * * * *"
[fleet.relational]
replicas = 1
[fleet.vector]
replicas = 1
"""


@dataclass
class Tally:
    name: str
    statuses: Counter = field(default_factory=Counter)
    phases: Counter = field(default_factory=Counter)
    signed: Counter = field(default_factory=Counter)  # the function's signed phase, by status
    bad_5xx: list = field(default_factory=list)
    crashes: list = field(default_factory=list)
    undocumented: Counter = field(default_factory=Counter)
    held_back: Counter = field(default_factory=Counter)
    unsendable: int = 0
    cleanups: int = 0

    @property
    def requests(self) -> int:
        return sum(self.statuses.values()) + len(self.crashes)


class Service:
    """A running service: its base URL, its process, and its campaign rules."""
    doc: str
    notes: str  # what the campaign neutralises, printed with the counts
    modes = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)

    def __init__(self, tmp: Path):
        self.tmp, self.proc, self.base = tmp, None, ""
        self.session = requests.Session()
        spec = yaml.safe_load((REPO / "docs" / self.doc).read_text())
        self.documented = {(m.upper(), p): {int(s) for s in op.get("responses", {})}
                           for p, ops in spec["paths"].items() for m, op in ops.items()
                           if m != "parameters"}

    def variants(self, case, kwargs):
        """(phase, request kwargs) to send for one generated case, or (phase, None) held back."""
        yield "generated", kwargs

    def after(self, case, kwargs, response, tally) -> None:
        """Undo what a request set up that would spoil the rest of the run."""

    def healthy(self) -> tuple[bool, str]:
        raise NotImplementedError

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _read_json_line(proc, what: str, key: str | None = None, timeout: float = 180) -> dict:
    """The first JSON line (of `kind` key) the service prints; its stdout is then drained
    by a thread for good, so the service never blocks on a full pipe."""
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(x) for x in proc.stdout] + [lines.put(b"")],
                     daemon=True).start()
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        try:
            line = lines.get(timeout=left)
        except queue.Empty:
            break
        if not line:
            raise RuntimeError(f"{what} exited before it was ready")
        try:
            data = json.loads(line)
        except ValueError:
            continue
        if key is None or data.get("kind") == key:
            return data
    raise RuntimeError(f"{what} not ready within {timeout} s")


class Function(Service):
    doc = "function-openapi.yaml"
    notes = "faults set by POST /_wkp/faults are cleared at once"

    def start(self):
        self.proc = subprocess.Popen([sys.executable, "-m", "emulator.cli", "function", "--port", "0",
                                      "--secret", SECRET], stdout=subprocess.PIPE,
                                     stderr=(self.tmp / "function.stderr").open("wb"), env=env())
        self.base = _read_json_line(self.proc, "the function")["endpoint"]
        self.rng, self.heads = random.Random(0), {}

    def variants(self, case, kwargs):
        yield "unsigned", kwargs
        if case.path in ("/persist", "/restore", "/health"):
            copy = dict(kwargs, headers=dict(kwargs["headers"]), params=dict(kwargs.get("params") or {}))
            yield "signed", self._signed(case.path, copy)

    def _signed(self, path, kw):
        """The case signed with the secret; identifiers from a small pool, checksum of the body."""
        h, q, rng = kw["headers"], kw["params"], self.rng
        tenant, engine, instance = rng.choice(TENANTS), rng.choice(ENGINES), rng.choice(INSTANCES)
        h = {k: v for k, v in h.items() if isinstance(v, str)}
        if path == "/persist":
            h.update({n.TENANT: tenant, n.ENGINE: engine, n.INSTANCE_ID: instance})
            body = kw.get("data") if isinstance(kw.get("data"), bytes) else None
            if body is not None and rng.random() < 0.9:
                h[n.CHECKSUM] = f"sha256={hashlib.sha256(body).hexdigest()}"
            head = self.heads.get((tenant, engine, instance))
            if head and h.get(n.SNAPSHOT_KIND) == "delta" and rng.random() < 0.5:
                h[n.CURSOR_FROM] = head  # continue the stored chain now and then
        elif path == "/restore":
            q.update(tenant=tenant, engine=engine)
            if rng.random() < 0.5:  # the latest state, not a point in time, half the time
                q.pop("cursor", None)
                q["latest"] = "true"
            h.update({n.ENGINE: engine, n.INSTANCE_ID: instance})
            h.pop(n.TENANT, None)
        kw["headers"] = h
        kw["_sign"] = (tenant, engine, instance)
        return kw

    def prepare(self, kwargs):
        sign = kwargs.pop("_sign", None)
        prepared = self.session.prepare_request(requests.Request(**kwargs))
        if sign is not None:
            path, _, query = prepared.path_url.partition("?")
            body = prepared.body if isinstance(prepared.body, bytes) else (prepared.body or "").encode()
            now = int(time.time())
            rid = prepared.headers.get(n.REQUEST_ID) or ("" if path == "/health" else uuid.uuid4().hex)
            prepared.headers[n.TIMESTAMP] = str(now)
            prepared.headers[n.PROTOCOL] = n.PROTOCOL_VERSION
            if rid:
                prepared.headers[n.REQUEST_ID] = rid
            prepared.headers[n.SIGNATURE] = sign_request(
                SECRET, timestamp=now, request_id=rid, method=prepared.method, path=path,
                query=query, body_sha256=body_digest(body))
            prepared._wkp_pool = sign
        return prepared

    def after(self, case, kwargs, response, tally):
        if case.path == "/_wkp/faults" and case.method == "POST" and response.status_code == 201:
            self.session.delete(f"{self.base}/_wkp/faults", timeout=TIMEOUT_S)
            tally.cleanups += 1
        pool = getattr(response.request, "_wkp_pool", None)
        if case.path == "/persist" and pool and response.status_code in (200, 202):
            self.heads[pool] = response.json()["cursor"]

    def healthy(self):
        req = health_request(secret=SECRET, now=int(time.time()))
        r = self.session.get(self.base + req.target, headers=req.headers, timeout=TIMEOUT_S)
        return r.status_code == 200, f"signed GET /health {r.status_code}"


class Control(Service):
    doc = "control-openapi.yaml"
    notes = ("POST /v1/down held back; GET /v1/events sent with once=1, logs without follow; "
             "faults cleared at once; real lifecycle actions and workloads bounded")
    LIFECYCLE = ("/v1/engines/{name}/recycle", "/v1/engines/{name}/kill",
                 "/v1/engines/{name}/restart", "/v1/fleet/{kind}/scale", "/v1/fleet/{kind}/recycle")
    WORKLOAD = ("/v1/engines/{name}/workload", "/v1/fleet/{kind}/workload")

    def __init__(self, tmp, lifecycle_budget: int):
        super().__init__(tmp)
        self.lifecycle_left = lifecycle_budget

    def start(self):
        cfg = self.tmp / "wkp-emu.toml"
        cfg.write_text(UP_TOML)
        self.proc = subprocess.Popen([sys.executable, "-m", "emulator.cli", "up", "--headless",
                                      "--fresh", "--config", str(cfg), "--state-dir",
                                      str(self.tmp / "state")], stdout=subprocess.PIPE,
                                     stderr=(self.tmp / "up.stderr").open("wb"), env=env(), cwd=self.tmp)
        self.base = _read_json_line(self.proc, "wkp-emu up", "emulator.ready")["data"]["control"]
        self.names = {e["name"] for e in self.session.get(f"{self.base}/v1/fleet").json()["engines"]}

    def variants(self, case, kwargs):
        if case.path == "/v1/down":
            yield "held back: POST /v1/down would end the run", None
            return
        if case.path == "/v1/events":  # the live stream never ends; the history does
            kwargs["params"] = dict(kwargs.get("params") or {}, once="1")
        if case.path == "/v1/engines/{name}/logs":
            kwargs["params"] = {k: v for k, v in (kwargs.get("params") or {}).items() if k != "follow"}
        if case.method == "POST" and case.path in self.WORKLOAD and self._real_target(case) \
                and not self._gentle(case):
            yield "held back: a real workload above 5 writes/s would load the shared machine", None
            return
        if case.method == "POST" and case.path in self.LIFECYCLE and self._real_target(case):
            if self.lifecycle_left <= 0 or self._big_scale(case):
                yield "held back: a real lifecycle action past the budget, or a scale above 2", None
                return
            self.lifecycle_left -= 1
        yield "generated", kwargs

    @staticmethod
    def _gentle(case) -> bool:
        rate = case.body.get("rate") if isinstance(case.body, dict) else None
        return isinstance(rate, (int, float)) and not isinstance(rate, bool) and rate <= 5

    def _real_target(self, case) -> bool:
        params = case.path_parameters or {}
        return params.get("name") in self.names or params.get("kind") in ("relational", "vector",
                                                                          "document", "graph", "inmemory",
                                                                          "keyvalue", "markdown", "filestore")

    @staticmethod
    def _big_scale(case) -> bool:
        body = case.body if isinstance(case.body, dict) else {}
        replicas = body.get("replicas")
        return case.path.endswith("/scale") and not (isinstance(replicas, int) and replicas <= 2)

    def after(self, case, kwargs, response, tally):
        if case.path == "/v1/faults" and case.method == "POST" and response.status_code == 201:
            self.session.delete(f"{self.base}/v1/faults", timeout=TIMEOUT_S)
            tally.cleanups += 1

    def healthy(self):
        r = self.session.get(f"{self.base}/health", timeout=TIMEOUT_S)
        ok = r.status_code == 200 and r.json().get("status") == "running"
        return ok, f"GET /health {r.status_code} {r.json().get('status') if r.ok else ''}".strip()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            try:
                self.session.post(f"{self.base}/v1/down", timeout=TIMEOUT_S)
                self.proc.wait(120)
            except Exception:
                pass
        super().stop()


def _seconds(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0  # not a number (or a list): sent as generated, the service must say 400


class Discovery(Service):
    doc = "discovery-openapi.yaml"
    notes = "long-poll waits above 0.05 s cut to 0.05 s; fault plans cleared at once"

    def start(self):
        self.proc = subprocess.Popen([sys.executable, "-m", "emulator.cli", "discovery", "--node-id",
                                      "fuzz-1", "--bind", "127.0.0.1:0", "--api-bind", "127.0.0.1:0"],
                                     stdout=subprocess.PIPE,
                                     stderr=(self.tmp / "discovery.stderr").open("wb"), env=env())
        self.base = _read_json_line(self.proc, "discovery")["api"]

    def variants(self, case, kwargs):
        if case.path == "/v1/events":  # a long poll up to 30 s: keep it short, keep odd values
            params = dict(kwargs.get("params") or {})
            if _seconds(params.get("wait")) > 0.05:
                params["wait"] = "0.05"
            kwargs["params"] = params
        yield "generated", kwargs

    def after(self, case, kwargs, response, tally):
        if case.path == "/v1/faults" and case.method == "POST" and response.status_code == 200:
            self.session.delete(f"{self.base}/v1/faults", timeout=TIMEOUT_S)
            tally.cleanups += 1

    def healthy(self):
        r = self.session.get(f"{self.base}/v1/health", timeout=TIMEOUT_S)
        return r.status_code == 200, f"GET /v1/health {r.status_code}"


def send(service: Service, case, tally: Tally) -> None:
    for phase, kwargs in service.variants(case, case.as_transport_kwargs(base_url=service.base)):
        if kwargs is None:
            tally.held_back[phase] += 1
            continue
        try:
            prepare = getattr(service, "prepare", None)
            prepared = prepare(kwargs) if prepare else service.session.prepare_request(
                requests.Request(**{k: v for k, v in kwargs.items() if not k.startswith("_")}))
        except (ValueError, requests.RequestException):
            tally.unsendable += 1  # the client refuses it (a header it cannot encode, ...)
            continue
        try:
            response = service.session.send(prepared, timeout=TIMEOUT_S, stream=True)
            # The body as sent: a restore's is opaque compressed bytes, not for requests to decode.
            response._content = response.raw.read(decode_content=False)
        except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
            tally.crashes.append(f"{phase} {case.method} {prepared.path_url[:160]}: {exc!r}"[:300])
            service.session = requests.Session()
            continue
        status = response.status_code
        tally.statuses[status] += 1
        tally.phases[phase] += 1
        if phase == "signed":
            tally.signed[f"{case.path} {status}"] += 1
        documented = service.documented.get((case.method, case.path), set())
        if status >= 500 and status not in documented:
            sent = prepared.body[:160] if prepared.body else prepared.path_url[:160]
            tally.bad_5xx.append(f"{phase} {case.method} {case.path} -> {status}, sent {sent!r}")
        elif status not in documented:
            tally.undocumented[f"{case.method} {case.path} {status}"] += 1
        service.after(case, kwargs, response, tally)


def campaign(service: Service, tally: Tally, target: int, deadline: float, base_seed: int) -> None:
    schema = schemathesis.openapi.from_path(REPO / "docs" / service.doc)
    strategies = {mode: schema.as_strategy(generation_mode=mode) for mode in service.modes}
    round_ = 0
    while tally.requests < target and time.monotonic() < deadline:
        if service.proc.poll() is not None:
            tally.crashes.append(f"process exited with {service.proc.returncode}")
            return
        mode = service.modes[round_ % len(service.modes)]

        @seed(base_seed * 100_003 + round_)
        @settings(max_examples=CHUNK, database=None, deadline=None, phases=[Phase.generate],
                  suppress_health_check=list(HealthCheck))
        @given(case=strategies[mode])
        def run(case):
            if tally.requests < target and time.monotonic() < deadline:
                send(service, case, tally)
        run()
        round_ += 1


def report(tally: Tally, target: int, seconds: float, healthy: tuple[bool, str], notes: str) -> bool:
    ok = (not tally.bad_5xx and not tally.crashes and healthy[0] and tally.requests >= target)
    statuses = " ".join(f"{s}:{c}" for s, c in sorted(tally.statuses.items()))
    phases = ", ".join(f"{c} {p}" for p, c in sorted(tally.phases.items()))
    held = sum(tally.held_back.values())
    print(f"{tally.name}: {tally.requests} requests ({phases}) in {seconds:.0f} s; statuses {statuses}; "
          f"5xx not allowed {len(tally.bad_5xx)}; crashes {len(tally.crashes)}; "
          f"undocumented statuses {sum(tally.undocumented.values())}; held back {held}; "
          f"faults cleared after set {tally.cleanups}; unsendable {tally.unsendable}; "
          f"healthy after: {'yes' if healthy[0] else 'NO'} ({healthy[1]}) -> {'ok' if ok else 'FAILED'}",
          flush=True)
    print(f"  campaign rules: {notes}")
    if tally.signed:
        print("  signed phase: " + " ".join(f"{k}:{v}" for k, v in sorted(tally.signed.items())))
    for why, count in tally.held_back.items():
        print(f"  {count} {why}")
    for line in (tally.bad_5xx[:5] + tally.crashes[:5]):
        print(f"  ! {line}")
    for what, count in tally.undocumented.most_common(5):
        print(f"  undocumented: {what} x{count}")
    if tally.requests < target:
        print(f"  ! only {tally.requests} of {target} requests within the budget")
    return ok


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=10_000, help="per service (default 10000)")
    ap.add_argument("--budget-s", type=float, default=900, help="per service (default 900)")
    ap.add_argument("--services", default="function,control,discovery")
    ap.add_argument("--lifecycle-budget", type=int, default=6,
                    help="real kill/recycle/restart/scale actions allowed on the control API (default 6)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    # SIGTERM (a CI timeout) unwinds like Ctrl-C, so every service started is stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    ok = True
    with tempfile.TemporaryDirectory(prefix="wkp-fuzz-") as tmp:
        for name in args.services.split(","):
            root = Path(tmp) / name
            root.mkdir()
            service = {"function": lambda: Function(root),
                       "control": lambda: Control(root, args.lifecycle_budget),
                       "discovery": lambda: Discovery(root)}[name]()
            tally, started = Tally(name), time.monotonic()
            try:
                service.start()
                campaign(service, tally, args.requests, started + args.budget_s, args.seed)
                alive = service.proc.poll() is None
                health = service.healthy() if alive else (False, f"exited {service.proc.returncode}")
            except (requests.RequestException, RuntimeError) as exc:
                health = (False, f"{type(exc).__name__}: {exc}")
            finally:
                service.stop()
            ok &= report(tally, args.requests, time.monotonic() - started, health, service.notes)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
