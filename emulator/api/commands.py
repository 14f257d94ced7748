"""CLI verbs against a running emulator: status, scale, recycle, kill, restart,
fault, logs, reset, down. Each maps to one control API call.

Output: readable lines, one per effect ("recycled vector-1: generation 3, pid
4242, ..."), whether or not stdout is a terminal, so what a user sees is what a
log captures; `--json` prints the control API's answer instead, for scripts.
Errors go to stderr either way."""
from __future__ import annotations

import json
import sys

from .client import ControlClient, ControlError, NoEmulator, control_url
from .tables import (fault_set_line, fault_table, faults_cleared_line, function_lines, killed_line,
                     pod_line, scaled_lines, status_table)


def add_parser(subparsers) -> None:
    def verb(name, help_text, func, json_output=True):
        p = subparsers.add_parser(name, help=help_text, description=help_text)
        p.add_argument("--state-dir", metavar="DIR", help="the emulator's state dir (default .wkp-emu)")
        if json_output:
            p.add_argument("--json", action="store_true",
                           help="print the control API's JSON answer instead of readable lines")
        p.set_defaults(func=lambda args: _run(func, args))
        return p

    p = verb("status", "show the running emulator: services and every engine", status)
    p = verb("scale", "scale an engine kind to N replicas (0 = scale to zero)", scale)
    p.add_argument("kind")
    p.add_argument("replicas", type=_count)
    p = verb("recycle", "recycle an engine (SIGTERM, then a new pod) or every engine of a kind", recycle)
    p.add_argument("target", metavar="ENGINE|KIND")
    p.add_argument("--rolling", action="store_true", help="one at a time (kinds only)")
    p = verb("kill", "SIGKILL an engine (no final flush)", kill)
    p.add_argument("engine")
    p = verb("restart", "restart an engine on its volume", restart)
    p.add_argument("engine")
    p = verb("fault", "set, list or clear injected faults", fault)
    p.add_argument("action", choices=("set", "list", "clear"))
    p.add_argument("spec", nargs="*", metavar="KEY=VALUE",
                   help="for set: target=function|store|engine|discovery kind=... status=503 ...")
    p = verb("logs", "print an engine's log (or discovery's)", logs, json_output=False)
    p.add_argument("engine", nargs="?", help="engine name; omitted: the event log")
    p.add_argument("-f", "--follow", action="store_true")
    verb("reset", "empty the running emulator's store", reset)
    verb("down", "stop the running emulator (engines flush first)", down)


def _count(text: str) -> int:
    import argparse
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"replicas must be a whole number >= 0, got {text!r}")
    return int(text)


def _run(func, args) -> int:
    try:
        client = ControlClient(control_url(args.state_dir))
        return func(client, args) or 0
    except NoEmulator as exc:
        print(f"wkp-emu: {exc}", file=sys.stderr)
        return 3
    except ControlError as exc:
        print(f"wkp-emu: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _show(data) -> None:
    print(json.dumps(data, indent=2))


def _report(args, data, lines) -> None:
    """--json: the control API's answer; otherwise lines(data), one per effect."""
    if args.json:
        _show(data)
        return
    produced = lines(data)
    print("\n".join([produced] if isinstance(produced, str) else produced))


def _function_view(client) -> dict:
    """GET /v1/function, or {} when the function is not up: status still shows the rest."""
    try:
        view = client.get("/v1/function")
    except ControlError:
        return {}
    return view if isinstance(view, dict) else {}


def status(client, args):
    health, fleet = client.get("/health"), client.get("/v1/fleet")
    info = client.get("/v1/info")
    function = _function_view(client)
    if args.json:
        _show({"health": health, "info": info, "engines": fleet["engines"],
               "function": {k: function[k] for k in ("instances", "platform") if k in function}})
    else:
        print(status_table(health, info, fleet["engines"]))
        for line in function_lines(function):
            print(line)
        for name, message in sorted((health.get("failures") or {}).items()):
            print(f"{name}: {message}")  # the engine's own last words
    return 0 if health.get("status") == "running" else 1  # scripts can wait on a healthy stack


def scale(client, args):
    _report(args, client.post(f"/v1/fleet/{args.kind}/scale", {"replicas": args.replicas}),
            scaled_lines)


def recycle(client, args):
    target = args.target
    if target.rpartition("-")[2].isdigit():
        if args.rolling:
            raise ControlError(400, "--rolling applies to a kind, not one engine")
        _report(args, client.post(f"/v1/engines/{target}/recycle"), lambda pod: pod_line("recycled", pod))
    else:
        _report(args, client.post(f"/v1/fleet/{target}/recycle", {"rolling": args.rolling}),
                lambda answer: [pod_line("recycled", pod) for pod in answer["engines"]])


def kill(client, args):
    _report(args, client.post(f"/v1/engines/{args.engine}/kill"), killed_line)


def restart(client, args):
    _report(args, client.post(f"/v1/engines/{args.engine}/restart"),
            lambda pod: pod_line("restarted", pod) + " (same volume)")


def _spec(pairs: list[str]) -> dict:
    spec = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise ControlError(400, f"fault settings are KEY=VALUE, got {pair!r}")
        try:
            spec[key] = json.loads(value)
        except ValueError:
            spec[key] = value.split(",") if key == "paths" else value
        if key == "paths" and isinstance(spec[key], str):
            spec[key] = [spec[key]]
    return spec


def fault(client, args):
    if args.action == "list":
        _report(args, client.get("/v1/faults"), fault_table)
    elif args.action == "clear":
        _report(args, client.delete("/v1/faults"), faults_cleared_line)
    else:
        if not args.spec:
            raise ControlError(400, "fault set needs settings, e.g. target=function kind=error status=503")
        _report(args, client.post("/v1/faults", _spec(args.spec)), fault_set_line)


def logs(client, args):
    if args.engine:
        path = f"/v1/engines/{args.engine}/logs" + ("?follow=1" if args.follow else "")
        for line in client.stream(path):
            sys.stdout.write(line.decode(errors="replace"))
            sys.stdout.flush()
        return
    for line in client.stream("/v1/events" + ("" if args.follow else "?once=1")):
        text = line.decode(errors="replace")
        if text.startswith("data: "):
            print(text[6:].rstrip(), flush=True)


def reset(client, args):
    _report(args, client.post("/v1/reset"),
            lambda answer: f"store emptied: {answer['removed']} objects removed")


def down(client, args):
    _report(args, client.post("/v1/down"),
            lambda _: "emulator stopping: engines flush, then the store is archived")
