"""Fixtures: a real moto server on loopback, and the function app on a real socket."""
from __future__ import annotations

import uuid

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from emulator.function.app import create_app
from emulator.function.config import FunctionConfig
from emulator.protocol.function_rules import Limits
from emulator.store.moto_server import EmbeddedS3
from tests.support.wkp_client import WkpClient

SECRET = "test-secret"


@pytest.fixture(scope="session")
def moto():
    with EmbeddedS3() as s3:
        yield s3


@pytest.fixture
async def make_function(moto):
    """Start a function app (real HTTP on 127.0.0.1) with a fresh bucket."""
    servers = []

    async def make(**overrides):
        limits = overrides.pop("limits", Limits())
        bucket = overrides.pop("bucket", f"t-{uuid.uuid4().hex[:12]}")
        config = FunctionConfig(secret=SECRET, s3_endpoint=overrides.pop("s3_endpoint", moto.endpoint),
                                bucket=bucket, limits=limits, **overrides)
        server = TestServer(create_app(config), host="127.0.0.1")
        await server.start_server(auto_decompress=False)
        servers.append(server)
        return server

    yield make
    for server in servers:
        await server.close()


@pytest.fixture
async def function(make_function):
    return await make_function()


@pytest.fixture
async def wkp(function, http):
    return WkpClient(http, str(function.make_url("")).rstrip("/"), SECRET)


@pytest.fixture
async def http():
    async with aiohttp.ClientSession(auto_decompress=False) as session:
        yield session
