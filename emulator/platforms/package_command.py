"""`wkp-emu package --target lambda [-o DIR]`: a deployable bundle of a reference function.

A bundle is the function's adapter package, the platform-neutral core
(wkp_functions.core and its store), the pure protocol modules it imports
(found by following its imports, so nothing is copied by hand and nothing
missing goes unnoticed), a requirements.txt, the platform's own files and a
README with the deploy commands. Targets are a table: another platform is
one PackageTarget entry in TARGETS.
"""
from __future__ import annotations

import ast
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

REPO_ROOT = Path(__file__).resolve().parents[2]
BUNDLED_ROOTS = ("wkp_functions", "emulator")  # first-party packages a bundle may carry


class PackageError(Exception):
    """Something a user can fix (an existing output directory, say); the message says what."""


@dataclass(frozen=True)
class PackageTarget:
    name: str
    entry_modules: tuple[str, ...]           # what the platform imports; the rest follows
    requirements: tuple[str, ...]
    extra_files: Callable[[Path], None]      # writes the platform's own files into the bundle
    readme: str
    default_dir: str = field(default="")


def module_path(module: str) -> Path:
    base = REPO_ROOT.joinpath(*module.split("."))
    return base / "__init__.py" if base.is_dir() else base.with_suffix(".py")


def _imports(module: str, path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[:len(parts) - node.level + 1])
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names)  # submodules named
    return found


def first_party_closure(entries) -> list[str]:
    """Every first-party module the entries import, directly or not, with their packages."""
    todo, seen = list(entries), set()
    while todo:
        module = todo.pop()
        if module in seen or module.split(".")[0] not in BUNDLED_ROOTS:
            continue
        path = module_path(module)
        if not path.exists():
            continue  # `from pkg import name` where name is not a module
        seen.add(module)
        parts = module.split(".")
        todo.extend(".".join(parts[:i]) for i in range(1, len(parts)))  # its packages
        todo.extend(_imports(module, path))
    return sorted(seen)


def write_bundle(target: PackageTarget, out: Path, *, force: bool = False) -> list[str]:
    if out.exists() and any(out.iterdir()):
        if not force:
            raise PackageError(f"{out} exists and is not empty; choose another -o or pass --force")
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    modules = first_party_closure(target.entry_modules)
    for module in modules:
        src = module_path(module)
        dest = out / src.relative_to(REPO_ROOT)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dest)
    (out / "requirements.txt").write_text("".join(f"{r}\n" for r in target.requirements))
    target.extra_files(out)
    (out / "README.md").write_text(target.readme)
    return modules


# ---------------------------------------------------------------- lambda

LAMBDA_BOOTSTRAP = """#!/bin/sh
# The streaming custom runtime (wkp_functions/aws_lambda/bootstrap.py). Set as
# AWS_LAMBDA_EXEC_WRAPPER on the python3.12 runtime, Lambda runs this instead of
# its own runtime loop, with the runtime's Python; the arguments it passes are
# the managed loop's command, which this replaces.
cd "${LAMBDA_TASK_ROOT:-$(dirname "$0")}"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
exec python3 -m wkp_functions.aws_lambda.bootstrap
"""

LAMBDA_README = """# WKP-1 function for AWS Lambda (Function URL, S3)

The WeftKit WKP-1 persistence function (POST /persist, GET /restore, GET /health)
for AWS Lambda behind a Function URL, storing snapshots in S3.

Restores larger than 6 MB cannot come back from Lambda's managed Python runtime
(it buffers responses, 6 MB at most). This bundle therefore runs its own small
runtime loop, `bootstrap`, which streams responses through the Lambda Runtime
API's streaming mode (up to 200 MB; after the first 6 MB, Lambda caps the rate at
about 2 MB/s). It runs on the python3.12 runtime through AWS_LAMBDA_EXEC_WRAPPER,
and the Function URL must use the RESPONSE_STREAM invoke mode.

## Build

```sh
pip install -r requirements.txt -t . --platform manylinux2014_x86_64 --only-binary=:all: --python-version 3.12
zip -r ../wkp-function.zip .
```

## Deploy

```sh
aws s3api create-bucket --bucket my-wkp-bucket
aws iam create-role --role-name wkp-function --assume-role-policy-document \\
  '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}'
aws iam attach-role-policy --role-name wkp-function \\
  --policy-arn arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole
aws iam put-role-policy --role-name wkp-function --policy-name wkp-bucket --policy-document \\
  '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject","s3:PutObject","s3:DeleteObject","s3:ListBucket","s3:AbortMultipartUpload"],"Resource":["arn:aws:s3:::my-wkp-bucket","arn:aws:s3:::my-wkp-bucket/*"]}]}'
aws lambda create-function --function-name wkp-function \\
  --runtime python3.12 --handler wkp_functions.aws_lambda.handler.handler \\
  --zip-file fileb://../wkp-function.zip --timeout 900 --memory-size 1024 \\
  --role arn:aws:iam::<account>:role/wkp-function \\
  --environment 'Variables={AWS_LAMBDA_EXEC_WRAPPER=/var/task/bootstrap,WKP_BUCKET=my-wkp-bucket,WEFTKIT_PERSIST_SECRET=<secret>}'
aws lambda create-function-url-config --function-name wkp-function \\
  --auth-type NONE --invoke-mode RESPONSE_STREAM
aws lambda add-permission --function-name wkp-function --statement-id url \\
  --action lambda:InvokeFunctionUrl --principal '*' --function-url-auth-type NONE
```

Engines: WEFTKIT_PERSIST_ENDPOINT=<the FunctionUrl printed>, WEFTKIT_PERSIST_SECRET=<secret>.
Every request is signed with the secret (HMAC), which is what authenticates it; put
the secret in Secrets Manager or an encrypted variable rather than in shell history.

Without AWS_LAMBDA_EXEC_WRAPPER the function runs on the managed runtime's own loop
(`--handler` above): everything works except restores over 6 MB, which Lambda
refuses (the URL answers 502).

## Variables

- `WKP_BUCKET` (required): the bucket.
- `WEFTKIT_PERSIST_SECRET` (required): the secret the engines sign with.
- `WKP_MAX_PAYLOAD` (default 4194304): the largest push body. A Function URL
  refuses an event over 6 MB, and the body travels base64-encoded in it, so
  4 MiB is about the largest body that reaches the function; a push over it is
  answered 413 naming the limit and the engine splits it.
- `WKP_TAKEOVER_LEASE_S` (default 120): the lineage takeover lease.

## Try it locally first

`wkp-emu lambda-host` runs this function in runtime processes behind a local
Function URL and Lambda Runtime API, on an embedded S3; `wkp-emu conformance`
checks it against the WKP-1 contract.
"""


def _lambda_files(out: Path) -> None:
    path = out / "bootstrap"
    path.write_text(LAMBDA_BOOTSTRAP)
    path.chmod(0o755)


LAMBDA = PackageTarget(
    name="lambda",
    entry_modules=("wkp_functions.aws_lambda.handler", "wkp_functions.aws_lambda.bootstrap"),
    requirements=("boto3>=1.43", "zstandard>=0.22"),  # the versions the local host proves it with
    extra_files=_lambda_files, readme=LAMBDA_README, default_dir="wkp-function-lambda")

from .azure_host.package import AZURE  # noqa: E402  (their modules use PackageTarget above)
from .gcf_host.package import GCF  # noqa: E402

TARGETS: dict[str, PackageTarget] = {"lambda": LAMBDA, "gcf": GCF, "azure": AZURE}


# ---------------------------------------------------------------- the command

def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "package", help="write a deployable bundle of a reference function",
        description="Write the WKP-1 reference function for a platform as a deployable bundle: "
        "its handler, the pure core modules it needs, requirements.txt and a README with the "
        "deploy commands.")
    p.add_argument("--target", required=True, choices=list(TARGETS), help="the platform")
    p.add_argument("-o", "--output", type=Path, metavar="DIR",
                   help="where to write it (default ./wkp-function-<target>)")
    p.add_argument("--force", action="store_true", help="replace a non-empty DIR")
    p.set_defaults(func=run)


def run(args) -> int:
    target = TARGETS[args.target]
    out = args.output or Path(target.default_dir or f"wkp-function-{target.name}")
    try:
        modules = write_bundle(target, out, force=args.force)
    except PackageError as exc:
        print(f"wkp-emu package: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {out}/ ({len(modules)} modules, requirements.txt, README.md): see {out}/README.md to deploy")
    return 0
