"""Carrying out one step on a live stack, through the control API only.

Each action maps to the control API call the CLI verb makes; `write_burst`
writes through the engines' own data API, as a client would. A step answers
the engines it acted on (for recovery measures) and the API's reply. Waits poll
the control API until their condition holds or their timeout passes.
"""
from __future__ import annotations

import http.client
import random
import time
from typing import Callable

from emulator.api.client import ControlClient, ControlError

from .model import Step


class StepFailed(RuntimeError):
    pass


def _names(pods) -> tuple[str, ...]:
    return tuple(p["name"] for p in pods)


def _scale(c: ControlClient, p, step) -> tuple[tuple[str, ...], object]:
    r = c.post(f"/v1/fleet/{p['kind']}/scale", {"replicas": p["replicas"]})
    return tuple(r.get("started", [])) + tuple(r.get("stopped", [])), r


def _recycle(c, p, step):
    if "engine" in p:
        r = c.post(f"/v1/engines/{p['engine']}/recycle")
        return (p["engine"],), r
    r = c.post(f"/v1/fleet/{p['kind']}/recycle", {"rolling": bool(p.get("rolling"))})
    return _names(r.get("engines", [])), r


def _engine_verb(verb: str) -> Callable:
    def act(c, p, step):
        return (p["engine"],), c.post(f"/v1/engines/{p['engine']}/{verb}")
    return act


def _fault(c, p, step):
    spec = p["fault"]
    return ((spec["engine"],) if "engine" in spec else ()), c.post("/v1/faults", spec)


def _clear(c, p, step):
    return (), c.delete("/v1/faults")


def _reset(c, p, step):
    return (), c.post("/v1/reset")


def _targets(c: ControlClient, p) -> list[dict]:
    engines = c.get("/v1/fleet")["engines"]
    if "engine" in p:
        return [e for e in engines if e["name"] == p["engine"]]
    return [e for e in engines if e["kind"] == p["kind"] and e["state"] == "running"]


def _burst(c, p, step, seed: int = 0):
    from engines_fake.kinds import sized
    targets = _targets(c, p)
    if not targets:
        raise StepFailed(f"no running engine to write to ({p.get('engine') or p.get('kind')})")
    rng = random.Random(f"{seed}:burst:{step.index}")
    acknowledged, refused = {}, {}
    for engine in targets:
        conn = http.client.HTTPConnection("127.0.0.1", engine["port"], timeout=30)
        ok = bad = 0
        try:
            for i in range(p["writes"]):
                value = sized(engine["kind"], rng, i, p.get("value_bytes", 0))
                conn.request("PUT", f"/records/burst-{step.index}-{i}", body=value)
                response = conn.getresponse()
                response.read()
                ok, bad = (ok + 1, bad) if response.status == 200 else (ok, bad + 1)
        except (OSError, http.client.HTTPException):
            bad += p["writes"] - ok - bad  # the engine went away mid-burst
        finally:
            conn.close()
        acknowledged[engine["name"]], refused[engine["name"]] = ok, bad
    return tuple(acknowledged), {"acknowledged": acknowledged, "refused": refused}


# ---- waits ----------------------------------------------------------------------------
def _engine(c, name) -> dict:
    return c.get(f"/v1/engines/{name}")


def _member_status(c, name) -> str | None:
    node = _engine(c, name).get("instance_id") or name
    members = c.get("/v1/discovery").get("members", [])
    return next((m["status"] for m in members if m["node_id"] == node), None)


def _running(c, p) -> list[dict]:
    return [e for e in c.get("/v1/fleet")["engines"] if e["state"] == "running"
            and p.get("engine") in (None, e["name"]) and p.get("kind") in (None, e["kind"])]


def _durable(c, p) -> Callable:
    """Every write made before the wait began has been pushed (durable lsn >= that lsn).

    Not "lsn == durable lsn": under a steady workload new writes arrive between
    any two pushes, so that would rarely hold.
    """
    marks = {e["name"]: e.get("lsn") or 0 for e in _running(c, p)}
    if not marks:
        raise StepFailed("no running engine to wait for")

    def holds(c, p) -> bool:
        now = {e["name"]: e.get("durable_lsn") or 0 for e in _running(c, p)}
        return all(now.get(name, -1) >= lsn for name, lsn in marks.items())
    return holds


CONDITIONS: dict[str, Callable] = {
    "engine_running": lambda c, p: _engine(c, p["engine"])["state"] == "running",
    "engine_restored": lambda c, p: _engine(c, p["engine"])["state"] == "running"
    and (_engine(c, p["engine"]).get("boot") or {}).get("how") == "restored",
    "member_failed": lambda c, p: _member_status(c, p["engine"]) == "failed",
    "member_alive": lambda c, p: _member_status(c, p["engine"]) == "alive",
    "cursor_reached": lambda c, p: (_engine(c, p["engine"]).get("durable_lsn") or 0) >= p["durable_lsn"],
}


def _wait(c, p, step):
    deadline = time.monotonic() + p["timeout"]
    condition = _durable(c, p) if p["until"] == "durable" else CONDITIONS[p["until"]]
    last_error = ""
    while time.monotonic() < deadline:
        try:
            if condition(c, p):
                return ((p["engine"],) if "engine" in p else ()), {"until": p["until"]}
        except ControlError as exc:  # e.g. the engine is between pods: keep waiting
            last_error = f" (last answer: {exc})"
        time.sleep(0.2)
    raise StepFailed(f"{p['until']} did not hold within {p['timeout']:g}s{last_error}")


ACTIONS: dict[str, Callable] = {
    "scale": _scale, "recycle": _recycle, "kill": _engine_verb("kill"),
    "restart": _engine_verb("restart"), "fault": _fault, "clear_faults": _clear, "reset": _reset,
    "write_burst": _burst, "wait": _wait,
}


def carry_out(client: ControlClient, step: Step, seed: int) -> tuple[tuple[str, ...], object]:
    """(engines acted on, the API's reply); raises StepFailed or ControlError."""
    if step.action == "write_burst":
        return _burst(client, step.params, step, seed)
    return ACTIONS[step.action](client, step.params, step)
