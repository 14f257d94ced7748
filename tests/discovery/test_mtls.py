"""mTLS on the REST API: a client certificate from the configured CA is required."""
import ssl
from dataclasses import replace

import aiohttp
import pytest

from emulator.discovery.client import Presence
from emulator.discovery.config import check
from emulator.discovery.runner import start_discovery
from emulator.discovery.tls import client_context
from emulator.membership import Status
from tests.discovery.certs import ThrowawayCA
from tests.discovery.conftest import FAST


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    directory = tmp_path_factory.mktemp("pki")
    ca = ThrowawayCA(directory)
    return {"ca": ca, "server": ca.issue("server", server=True),
            "client": ca.issue("client", server=False),
            "stranger": ThrowawayCA(directory, "other-ca").issue("stranger", server=False)}


@pytest.fixture
async def secure(pki):
    config = check(replace(FAST, node_id="secure", tls_cert=pki["server"].cert,
                           tls_key=pki["server"].key, tls_ca=pki["ca"].path))
    running = await start_discovery(config)
    yield running
    await running.stop()


async def fetch(url: str, ctx):
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=ctx)) as http:
        async with http.get(url) as response:
            return response.status, await response.json()


async def test_a_client_with_a_certificate_from_the_ca_gets_in(secure, pki):
    assert secure.api_url.startswith("https://127.0.0.1:")
    ctx = client_context(pki["ca"].path, pki["client"].cert, pki["client"].key)
    status, body = await fetch(f"{secure.api_url}/v1/health", ctx)
    assert status == 200 and body["node_id"] == "secure"


@pytest.mark.parametrize("who", ["nobody", "stranger"])
async def test_a_client_without_a_trusted_certificate_is_refused(secure, pki, who):
    pair = pki.get(who)
    ctx = client_context(pki["ca"].path, pair.cert if pair else None, pair.key if pair else None)
    with pytest.raises((aiohttp.ClientError, ssl.SSLError, ConnectionError)):
        await fetch(f"{secure.api_url}/v1/members", ctx)


async def test_plain_http_is_refused(secure):
    with pytest.raises(aiohttp.ClientError):
        await fetch(secure.api_url.replace("https:", "http:") + "/v1/health", None)


async def test_the_engine_client_registers_over_mtls_from_the_environment(secure, pki):
    env = {"WEFTKIT_DISCOVERY_URL": secure.api_url,
           "WEFTKIT_DISCOVERY_TLS_CA": pki["ca"].path,
           "WEFTKIT_DISCOVERY_TLS_CERT": pki["client"].cert,
           "WEFTKIT_DISCOVERY_TLS_KEY": pki["client"].key}
    presence = Presence.from_env(node_id="pg-1", type="relational", protocol="postgres",
                                 endpoint="127.0.0.1:5432", environ=env)
    assert await presence.start()
    assert secure.node.core.table.member("pg-1").status is Status.ALIVE
    await presence.stop()
    assert secure.node.core.table.member("pg-1").status is Status.LEFT
