"""`wkp-emu compose`: write a ready-to-run compose file for WeftKit engines (seed 001).

    wkp-emu compose --mode serverless --engines relational=1,vector=2

writes docker-compose.yml (the engines with the right WEFTKIT_PERSIST_*
variables, plus what the mode needs) and, when the mode persists, the env
file holding the engines' signing secret (compose_env.py says when it is
written and when kept). docs/docker.md, "The compose builder".
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

from .compose import check_engine_settings, engines_text, render
from .compose_env import SECRET_VARIABLE, decide_secret, new_secret, write_env_file
from .compose_plan import (DEFAULT_BUCKET, DEFAULT_ENGINES, DEFAULT_ENV_FILE, DEFAULT_MODE,
                           DEFAULT_PORT_BASE, DEFAULT_SCHEDULE, DEFAULT_STORE_DIR, DEFAULT_TENANT, MODES,
                           ComposeError, ComposePlan, make_plan)

DEFAULT_OUTPUT = "docker-compose.yml"


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "compose", help="write a docker-compose.yml for WeftKit engines (serverless, container, disabled)",
        description="Write a ready-to-run compose file: the engines with the WEFTKIT_PERSIST_* "
        "variables of the persistence mode, and the services the mode needs. Without --endpoint "
        "the file also runs the emulator's function (serverless) or store (serverless, container), "
        "so it works offline as it is. The engines' signing secret goes to an env file beside it, "
        "never into the compose file.")
    p.add_argument("--mode", choices=MODES, default=DEFAULT_MODE,
                   help=f"persistence mode (default {DEFAULT_MODE})")
    p.add_argument("--engines", default=DEFAULT_ENGINES, metavar="KIND=N,...",
                   help=f"engine kinds and replicas, e.g. relational=1,vector=2 (default {DEFAULT_ENGINES})")
    p.add_argument("--endpoint", metavar="URL",
                   help="serverless: your WKP-1 function (https); container: the central S3 store. "
                   "Without it the file runs the emulator's own")
    p.add_argument("-o", "--output", default=DEFAULT_OUTPUT, metavar="FILE",
                   help=f"where to write it (default {DEFAULT_OUTPUT}; - for standard output)")
    p.add_argument("--force", action="store_true", help="overwrite a different existing file")
    p.add_argument("--image", metavar="TAG", help="engine image (default wkp-emu/engine:<version>, "
                   "built by `wkp-emu image build`)")
    p.add_argument("--port-base", type=int, default=DEFAULT_PORT_BASE, metavar="PORT",
                   help=f"first port of the file's range (default {DEFAULT_PORT_BASE}): store, "
                   "function +1, engines from +10")
    p.add_argument("--schedule", default=DEFAULT_SCHEDULE, metavar="CRON",
                   help=f"WEFTKIT_PERSIST_SCHEDULE (default '{DEFAULT_SCHEDULE}')")
    p.add_argument("--tenant", default=DEFAULT_TENANT, help=f"WEFTKIT_PERSIST_TENANT (default {DEFAULT_TENANT})")
    p.add_argument("--bucket", default=DEFAULT_BUCKET, help=f"the store's bucket (default {DEFAULT_BUCKET})")
    p.add_argument("--env-file", default=DEFAULT_ENV_FILE, metavar="NAME",
                   help=f"env file with {SECRET_VARIABLE}, beside the compose file (default {DEFAULT_ENV_FILE})")
    p.add_argument("--store-dir", default=DEFAULT_STORE_DIR, metavar="NAME",
                   help=f"directory beside the compose file where the emulator's store keeps its "
                   f"objects (default {DEFAULT_STORE_DIR})")
    p.set_defaults(func=run)


def _fail(message: str) -> int:
    print(f"wkp-emu compose: {message}", file=sys.stderr)
    return 2


def default_image() -> str:
    from .image import ImageError, image_tag
    try:
        return image_tag()
    except ImageError:  # an installed package, not a checkout: its version is the same
        from importlib.metadata import version
        from .image import IMAGE_REPOSITORY
        return f"{IMAGE_REPOSITORY}:{version('wkp-emu')}"


def plan_from_args(args) -> ComposePlan:
    plan = make_plan(mode=args.mode, engines=args.engines, endpoint=args.endpoint,
                     image=args.image or default_image(), port_base=args.port_base, schedule=args.schedule,
                     tenant=args.tenant, bucket=args.bucket, env_file=args.env_file, store_dir=args.store_dir)
    check_engine_settings(plan)
    return plan


def _summary(plan: ComposePlan) -> str:
    extra = [name for name, present in (("function", plan.has_function), ("store", plan.has_store)) if present]
    if plan.mode == "container":
        extra.insert(0, f"{len(plan.slots)} persistence sidecar" + ("s" if len(plan.slots) > 1 else ""))
    return f"{plan.mode}: engines {engines_text(plan)}" + (f"; with {', '.join(extra)}" if extra else "")


def run(args) -> int:
    try:
        plan = plan_from_args(args)
    except ComposeError as exc:
        return _fail(str(exc))
    to_stdout = args.output == "-"
    target = None if to_stdout else Path(args.output)
    text = render(plan, output=DEFAULT_OUTPUT if to_stdout else args.output)
    if target is not None:
        if target.is_dir():
            return _fail(f"-o: {target} is a directory")
        if target.exists() and not args.force and target.read_text(errors="replace") != text:
            return _fail(f"-o: {target} exists and differs; --force overwrites it")
    env_path = (Path.cwd() if target is None else target.parent) / plan.env_file
    decision = None
    if plan.needs_secret:
        existing = env_path.read_text(errors="replace") if env_path.is_file() else None
        if env_path.exists() and existing is None:
            return _fail(f"--env-file: {env_path} is not a file")
        decision = decide_secret(existing=existing, ours=plan.checks_its_own_secret,
                                 from_environment=os.environ.get(SECRET_VARIABLE) or None,
                                 new_secret=new_secret(), env_file=str(env_path))
        if decision.action == "refuse":
            return _fail(f"--env-file: {decision.reason}")
    try:
        if target is None:
            sys.stdout.write(text)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
        if decision is not None and decision.action == "write":
            write_env_file(env_path, decision.secret)
    except OSError as exc:
        return _fail(f"cannot write: {exc}")
    say = (lambda m: print(m, file=sys.stderr)) if to_stdout else print
    if target is not None:
        say(f"wrote {target} ({_summary(plan)})")
    if decision is not None:
        say(f"wrote {env_path} ({SECRET_VARIABLE}: {decision.source}, mode 0600)" if decision.action == "write"
            else f"kept {env_path} (its {SECRET_VARIABLE} is used)")
    default_here = target is None or target.resolve() == (Path.cwd() / DEFAULT_OUTPUT).resolve()
    compose_file = "" if default_here else f" -f {target}"
    say(f"next: wkp-emu image build   (once, if {plan.image} is not built yet)")
    say(f"      docker compose{compose_file} up -d")
    return 0
