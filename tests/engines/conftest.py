"""Fixtures: one real function process per test session (per xdist worker),
its faults cleared after every test, and engines that never outlive a test."""
from __future__ import annotations

import pytest

from .harness import Function, start_engine


@pytest.fixture(scope="session")
def shared_function(tmp_path_factory):
    function = Function(tmp_path_factory.mktemp("function"))
    yield function
    function.stop()


@pytest.fixture
def function(shared_function):
    """The session's function; each test uses its own instance ids, so sharing is
    safe, and faults set by a test are cleared when it ends."""
    shared_function.clear_faults()
    yield shared_function
    shared_function.clear_faults()


@pytest.fixture
def engines(tmp_path):
    """start(kind, env, name=...) -> Engine; every engine is killed at teardown."""
    started = []

    def start(kind, env, name="vol", **kw):
        engine = start_engine(kind, tmp_path / name, env, **kw)
        started.append(engine)
        return engine

    yield start
    for engine in started:
        if engine.proc.popen.poll() is None:
            engine.proc.kill()
