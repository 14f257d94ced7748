"""pytest fixtures for testing against wkp-emu (registered as the `wkp_emu` plugin).

    def test_my_function_survives_a_recycle(wkp_emulator):
        url = wkp_emulator.engine_url("relational-1")
        ...

    def test_spot_interruption(wkp_scenario):
        wkp_scenario("scenarios/spot-interruption.toml")   # fails with the summary

- `wkp_emulator`: one emulator for the whole test session; `wkp_emulator_module`:
  one per test module. Both start from the file named by `--wkp-emu-config` or
  the `wkp_emu_config` ini option (else the embedded defaults), in a temporary
  state dir on free loopback ports, and stop (engines flushed) afterwards.
- `wkp_scenario(path, attach=False)`: runs a scenario file on a fresh stack
  (or, attached, on the session's emulator), asserts that it passed and
  returns its report; the report files go under the test's tmp_path.

Nothing here is imported until a fixture is used, so installing wkp-emu costs
other test suites nothing.
"""
from __future__ import annotations

import pytest


def pytest_addoption(parser) -> None:
    group = parser.getgroup("wkp-emu")
    group.addoption("--wkp-emu-config", default=None, metavar="FILE",
                    help="wkp-emu.toml for the wkp_emulator fixtures (default: embedded defaults)")
    parser.addini("wkp_emu_config", "wkp-emu.toml for the wkp_emulator fixtures", default="")


def _config(config) -> str | None:
    value = config.getoption("--wkp-emu-config") or config.getini("wkp_emu_config")
    if value and not __import__("os").path.isabs(value):
        value = str(config.rootpath / value) if not __import__("os").path.exists(value) else value
    return value or None


def _start(config):
    from emulator.testing import start_emulator
    return start_emulator(_config(config))


@pytest.fixture(scope="session")
def wkp_emulator(pytestconfig):
    emulator = _start(pytestconfig)
    yield emulator
    emulator.stop()


@pytest.fixture(scope="module")
def wkp_emulator_module(pytestconfig):
    emulator = _start(pytestconfig)
    yield emulator
    emulator.stop()


@pytest.fixture
def wkp_scenario(request, tmp_path):
    from emulator.testing import assert_scenario

    def run(path, attach: bool = False):
        target = request.getfixturevalue("wkp_emulator") if attach else None
        return assert_scenario(path, attach_to=target, out=tmp_path / "scenario-report")
    return run
