"""The pure packages stay pure, however they grow: one check over all of them.

Pure means a module does no I/O and reads no clock, so that the live drivers,
the tests and the simulator (on virtual time) run the same decisions. Checked
for every module of every pure package, found by walking the package's
directory (a module added later is covered without editing this file), and
for the simulator's modules named in `sim.PURE_MODULES` (read from
sim/__init__.py without importing it; none if the simulator is absent):

1. Its own source, parsed with ast: it imports no asyncio, socket, selectors,
   threading, multiprocessing, subprocess, signal, os, pathlib, shutil,
   tempfile, time or secrets, nor any I/O framework or client; it calls no
   open/print/input; it reads no clock through datetime (`now`, `utcnow`,
   `today`); it draws no numbers from the random module's hidden global
   generator (random.random(), random.choice(), ...) nor builds a Random
   seeded from the OS (`Random()`) or one at import time shared by every
   caller: randomness comes from a random.Random the caller injects.
2. Its imports, followed through every module they load: a fresh interpreter
   imports each pure module and reports any I/O framework that came with it.
   Fresh, because the pytest process has asyncio and aiohttp loaded already.
   (Not socket or threading there: the standard library imports those
   innocently, e.g. email.utils imports socket; step 1 catches direct use.)
"""
from __future__ import annotations

import ast
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PURE_PACKAGES = ("emulator.protocol", "emulator.membership")

# Modules a pure module may not import (the module itself or anything under it).
FORBIDDEN_IMPORTS = frozenset({
    "asyncio", "socket", "ssl", "selectors", "select", "threading", "_thread", "multiprocessing",
    "concurrent", "subprocess", "signal", "os", "pathlib", "shutil", "tempfile", "time", "secrets",
    "aiohttp", "aiobotocore", "boto3", "botocore", "s3transfer", "moto", "simpy", "textual",
    "http.client", "http.server", "urllib.request", "urllib3", "requests", "httpx", "docker",
    "dask", "distributed", "psutil", "awslambdaric"})
# ... nor load them through its imports (checked in a fresh interpreter).
FORBIDDEN_LOADED = ("asyncio", "aiohttp", "boto3", "botocore", "aiobotocore", "s3transfer", "moto",
                    "simpy", "textual", "http.client", "urllib.request", "urllib3", "requests",
                    "httpx", "docker", "dask", "distributed", "psutil")
IO_BUILTINS = frozenset({"open", "print", "input", "breakpoint"})
CLOCK_READS = frozenset({"now", "utcnow", "today"})


# ---------------------------------------------------------------- the rules


def _forbidden(module: str) -> str | None:
    parts = module.split(".")
    for n in range(1, len(parts) + 1):
        if ".".join(parts[:n]) in FORBIDDEN_IMPORTS:
            return ".".join(parts[:n])
    return None


def _root_name(node: ast.AST) -> str | None:
    while isinstance(node, (ast.Attribute, ast.Call, ast.Subscript)):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None


class _Rules(ast.NodeVisitor):
    def __init__(self):
        self.found: list[str] = []
        self.datetime_names: set[str] = set()   # names bound to datetime, datetime.datetime, date
        self.random_modules: set[str] = set()   # names bound to the random module
        self.random_classes: set[str] = set()   # names bound to random.Random
        self.depth = 0                          # > 0 inside a function body (runs when called)

    def flag(self, node: ast.AST, what: str) -> None:
        self.found.append(f"line {node.lineno}: {what}")

    # imports
    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            bad = _forbidden(alias.name)
            if bad:
                self.flag(node, f"imports {bad}")
            bound = alias.asname or alias.name.split(".")[0]
            if alias.name == "datetime":
                self.datetime_names.add(bound)
            if alias.name == "random":
                self.random_modules.add(bound)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = node.module or ""
        if node.level == 0:
            bad = _forbidden(module)
            if bad:
                self.flag(node, f"imports {bad}")
            for alias in node.names:
                bad = _forbidden(f"{module}.{alias.name}")
                if bad and not _forbidden(module):
                    self.flag(node, f"imports {bad}")
        for alias in node.names:
            bound = alias.asname or alias.name
            if module == "datetime" and alias.name in ("datetime", "date"):
                self.datetime_names.add(bound)
            if module == "random":
                if alias.name == "Random":
                    self.random_classes.add(bound)
                else:
                    self.flag(node, f"imports random.{alias.name} (the module's global generator)")

    # calls and attributes
    def visit_Attribute(self, node: ast.Attribute) -> None:
        root = _root_name(node)
        if node.attr in CLOCK_READS and root in self.datetime_names:
            self.flag(node, f"reads the clock ({root}...{node.attr})")
        if isinstance(node.value, ast.Name) and node.value.id in self.random_modules \
                and node.attr != "Random":
            self.flag(node, f"uses random.{node.attr} (the module's global generator)")
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Name) and func.id in IO_BUILTINS:
            self.flag(node, f"calls {func.id}()")
        builds_random = (isinstance(func, ast.Name) and func.id in self.random_classes) or (
            isinstance(func, ast.Attribute) and func.attr == "Random"
            and isinstance(func.value, ast.Name) and func.value.id in self.random_modules)
        if builds_random and not (node.args or node.keywords):
            self.flag(node, "builds a Random() seeded from the OS; take an injected one")
        elif builds_random and self.depth == 0:
            self.flag(node, "builds a Random at import time: one generator shared by every caller")
        self.generic_visit(node)

    # function bodies run when called, not at import; their defaults run at import
    def _function(self, node) -> None:
        for d in getattr(node, "decorator_list", ()):
            self.visit(d)
        self.visit(node.args)
        if getattr(node, "returns", None) is not None:
            self.visit(node.returns)
        self.depth += 1
        for stmt in node.body if isinstance(node.body, list) else [node.body]:
            self.visit(stmt)
        self.depth -= 1

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = _function


def violations(source: str, filename: str = "<module>") -> list[str]:
    tree = ast.parse(source, filename)
    rules = _Rules()
    # bindings first, so a use above its import line (in a function) is still known
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                bound = alias.asname or alias.name.split(".")[0]
                if isinstance(node, ast.Import) and alias.name == "random":
                    rules.random_modules.add(bound)
                if isinstance(node, ast.ImportFrom) and node.module == "random" and alias.name == "Random":
                    rules.random_classes.add(bound)
    rules.visit(tree)
    return rules.found


# ---------------------------------------------------------------- what is pure


def sim_pure_modules(root: Path) -> tuple[str, ...]:
    """sim.PURE_MODULES, read from the source (importing sim is not needed to know it)."""
    init = root / "sim" / "__init__.py"
    if not init.exists():
        return ()
    for node in ast.parse(init.read_text()).body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "PURE_MODULES"
                                                for t in node.targets):
            return tuple(ast.literal_eval(node.value))
    return ()


def module_path(root: Path, module: str) -> Path:
    base = root.joinpath(*module.split("."))
    return base / "__init__.py" if base.is_dir() else base.with_suffix(".py")


def pure_modules(root: Path, packages=PURE_PACKAGES, extra=None) -> dict[str, Path]:
    """{module: file} for every module of every pure package, and the extra ones."""
    found: dict[str, Path] = {}
    for package in packages:
        directory = root.joinpath(*package.split("."))
        for path in sorted(directory.rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    for module in (sim_pure_modules(root) if extra is None else extra):
        found[module] = module_path(root, module)
    return found


PROBE = textwrap.dedent("""
    import importlib, json, sys
    modules, forbidden = json.loads(sys.argv[1]), sys.argv[2].split(",")
    def loaded():
        return {name for name in forbidden if name in sys.modules}
    before, culprits = sorted(loaded()), {}
    for name in modules:
        seen = loaded()
        importlib.import_module(name)
        if loaded() - seen:
            culprits[name] = sorted(loaded() - seen)
    print(json.dumps({"before": before, "culprits": culprits}))
""")


def probe(modules, cwd: Path) -> dict:
    result = subprocess.run([sys.executable, "-c", PROBE, json.dumps(sorted(modules)),
                             ",".join(FORBIDDEN_LOADED)], cwd=cwd, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


# ---------------------------------------------------------------- the checks


MODULES = pure_modules(ROOT)


def test_the_walk_finds_every_pure_module():
    """A broken walk must not pass vacuously: the files on disk are all there."""
    for package in PURE_PACKAGES:
        directory = ROOT.joinpath(*package.split("."))
        on_disk = {f"{package}.{p.stem}" for p in directory.glob("*.py") if p.stem != "__init__"}
        assert on_disk and on_disk <= set(MODULES)
    for module in ("emulator.protocol.engine_machine", "emulator.protocol.chain_rules",
                   "emulator.membership.swim"):
        assert module in MODULES
    for module in sim_pure_modules(ROOT):
        assert MODULES[module].exists(), f"sim.PURE_MODULES names {module}, which has no file"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_a_pure_module_does_no_io_and_reads_no_clock(module):
    path = MODULES[module]
    found = violations(path.read_text(), str(path))
    assert found == [], f"{module} ({path.relative_to(ROOT)}) must stay pure: " + "; ".join(found)


def test_no_pure_module_loads_an_io_framework_through_its_imports():
    report = probe(MODULES, ROOT)
    assert report["before"] == [], "the interpreter loaded forbidden modules before any pure one"
    assert report["culprits"] == {}, (
        f"importing these pure modules pulled in I/O frameworks: {report['culprits']}")


# ---------------------------------------------------------------- guard the guard


@pytest.mark.parametrize("source, expected", [
    ("import asyncio\n", "imports asyncio"),
    ("import os.path\n", "imports os"),
    ("from os import path\n", "imports os"),
    ("from http import client\n", "imports http.client"),
    ("import urllib.request\n", "imports urllib.request"),
    ("from concurrent.futures import ThreadPoolExecutor\n", "imports concurrent"),
    ("import time\nt = time.monotonic()\n", "imports time"),
    ("from datetime import datetime\ndef f():\n    return datetime.now()\n", "reads the clock"),
    ("import datetime\nx = datetime.datetime.utcnow()\n", "reads the clock"),
    ("from datetime import date as d\ny = d.today()\n", "reads the clock"),
    ("import random\ndef f():\n    return random.random()\n", "uses random.random"),
    ("import random as r\ndef f(xs):\n    return r.choice(xs)\n", "uses random.choice"),
    ("from random import uniform\n", "imports random.uniform"),
    ("import random\ndef f():\n    return random.Random()\n", "seeded from the OS"),
    ("import random\nRNG = random.Random(7)\n", "at import time"),
    ("from random import Random\ndef f(rng=Random(1)):\n    return rng\n", "at import time"),
    ("def f(path):\n    return open(path).read()\n", "calls open()"),
    ("def f():\n    print('x')\n", "calls print()"),
])
def test_the_rules_catch(source, expected):
    found = violations(source)
    assert found and expected in found[0], found


@pytest.mark.parametrize("source", [
    "import random\ndef f(rng: random.Random):\n    return rng.uniform(0, 1)\n",
    "import random\ndef f(seed):\n    return random.Random(f'seed:{seed}')\n",
    "from random import Random\nclass P:\n    def __init__(self, rng: Random):\n        self.rng = rng\n",
    "from datetime import datetime, timezone\ndef f(t):\n    return datetime.fromtimestamp(t, tz=timezone.utc)\n",
    "import hashlib, hmac, json, math, re, zlib\nfrom email.utils import parsedate_to_datetime\n",
    "from urllib.parse import urlsplit\nfrom collections import deque\n",
    "class Clock:\n    def now(self):\n        return 0\nx = Clock().now()\n",
])
def test_the_rules_let_pure_code_be(source):
    assert violations(source) == []


def test_the_walk_and_the_probe_catch_a_module_added_later(tmp_path):
    """A package like the core, with one bad module deep inside, is reported by both checks."""
    package = tmp_path / "fakecore"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "clean.py").write_text("import hashlib, hmac, re, zlib\n")
    (package / "sub" / "__init__.py").write_text("")
    (package / "sub" / "later.py").write_text("import asyncio\n")
    (tmp_path / "sim").mkdir()
    (tmp_path / "sim" / "__init__.py").write_text('PURE_MODULES = ("sim.policy",)\n')
    (tmp_path / "sim" / "policy.py").write_text("import threading\n")
    modules = pure_modules(tmp_path, packages=("fakecore",))
    assert set(modules) == {"fakecore", "fakecore.clean", "fakecore.sub", "fakecore.sub.later",
                            "sim.policy"}
    bad = {m for m, p in modules.items() if violations(p.read_text())}
    assert bad == {"fakecore.sub.later", "sim.policy"}
    report = probe(modules, tmp_path)
    assert report["culprits"] == {"fakecore.sub.later": ["asyncio"]}


def test_without_a_simulator_only_the_packages_are_checked(tmp_path):
    assert sim_pure_modules(tmp_path) == ()
