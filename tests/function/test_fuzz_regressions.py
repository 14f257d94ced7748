"""Requests the generated-request campaign (bench/fuzz_campaign.py) found answered
with 500: each must be a 400 naming what is wrong, and the function keeps serving."""
import pytest


@pytest.mark.parametrize("body", [
    b"\xb7\xb9\x1e\xfc`\x8bD*",                          # not UTF-8
    b'{"kind": "error", "status": "cG"}',               # a string where a number belongs
    b'{"kind": "error", "rate": "0.5"}',
    b'{"kind": "latency", "ms": 5, "count": {"": null}}',
    b'{"kind": "error", "paths": 5}',                   # not a list
    b'{"kind": "error", "status": true}',               # a bool is not a status
])
async def test_a_bad_fault_spec_is_400_not_500(function, http, body):
    url = str(function.make_url("/_wkp/faults"))
    async with http.post(url, data=body, headers={"Content-Type": "application/json"}) as resp:
        assert resp.status == 400, await resp.text()
        assert (await resp.json())["error"] == "BadFault"
    async with http.get(url) as resp:
        assert (await resp.json())["faults"] == []


async def test_a_good_fault_spec_is_still_201(function, http):
    url = str(function.make_url("/_wkp/faults"))
    async with http.post(url, json={"kind": "error", "status": 503, "rate": 0.5, "count": 2,
                                    "paths": ["/persist"]}) as resp:
        assert resp.status == 201
        assert (await resp.json())["paths"] == ["/persist"]


async def test_a_mixed_chain_with_an_undecodable_object_restores_as_400_not_5xx(wkp):
    """docs/protocol-decisions.md: re-encoding fails on damage the function never decoded
    at persist time; that is no transient failure, so no 5xx."""
    from emulator.protocol.codec import Encoding
    from emulator.protocol.cursor import Cursor
    assert (await wkp.persist(Encoding.ZSTD.compress(b"full"), "full", Cursor(0, 10))).status == 200
    reply = await wkp.persist(b"not gzip", "delta", Cursor(0, 12), Cursor(0, 10), encoding=Encoding.GZIP)
    assert reply.status == 200  # bodies are opaque on the way in
    reply = await wkp.restore()
    assert reply.status == 400 and reply.json()["error"] == "CorruptPayload"
    assert (await wkp.health()).status == 200


async def test_a_fault_id_too_long_for_an_int_is_404_not_500(function, http):
    """int() refuses more than 4300 digits (ValueError): no such fault, not a crash."""
    async with http.delete(str(function.make_url("/_wkp/faults/" + "9" * 5000))) as resp:
        assert resp.status == 404
        assert (await resp.json())["removed"] is False


async def test_a_part_header_with_thousands_of_digits_is_400_not_500(wkp):
    """int() refuses over 4300 digits; the header is malformed (400 naming it), not a crash."""
    from emulator.protocol.cursor import Cursor
    body = b"(\xb5/\xfd part"
    request = wkp.persist_request(body, "full", Cursor(0, 3))
    reply = await wkp.send(request, body, headers={"X-WeftKit-Part": "1" * 5000 + "/1"})
    assert reply.status == 400 and reply.json()["header"] == "X-WeftKit-Part"
