"""Bodies the generated-request campaign's family of inputs showed answered 500:
JSON that Python refuses to convert (an integer of thousands of digits) is a 400."""
from dataclasses import replace

import pytest

from emulator.discovery.app import create_app
from tests.discovery.conftest import FAST


@pytest.fixture
async def api(aiohttp_client):
    return await aiohttp_client(create_app(replace(FAST, node_id="d1")))


@pytest.mark.parametrize("path", ["/v1/register", "/v1/faults"])
async def test_an_integer_of_thousands_of_digits_is_400(api, path):
    resp = await api.post(path, data=b'{"loss": ' + b"1" * 5000 + b"}",
                          headers={"Content-Type": "application/json"})
    assert resp.status == 400
    assert (await resp.json())["field"] == "body"
    assert (await api.get("/v1/health")).status == 200
