"""The engines' client against a real node: register, heartbeat, re-register, leave."""
import asyncio
from dataclasses import replace

import pytest

from emulator.discovery.client import DiscoveryClient, Presence, Registration
from emulator.discovery.runner import bind_tcp, start_discovery
from emulator.membership import Status
from tests.discovery.conftest import FAST, wait_for

REG = Registration("pg-1", "relational", "postgres", "127.0.0.1:5432", ("relational-primary",))


@pytest.fixture
async def node():
    running = await start_discovery(replace(FAST, node_id="d1"))
    yield running
    await running.stop()


def member(node, node_id="pg-1"):
    return node.node.core.table.member(node_id)


async def test_presence_keeps_an_instance_alive_and_leaves_on_stop(node):
    presence = Presence(DiscoveryClient([node.api_url]), REG)
    assert await presence.start() and presence.host == "d1"
    assert presence.interval == FAST.heartbeat_interval_ms / 1000
    hb_timeout = FAST.heartbeat_interval_ms * FAST.missed_heartbeats / 1000
    await asyncio.sleep(3 * hb_timeout)
    assert member(node).status is Status.ALIVE and member(node).incarnation == 0
    await presence.stop()
    assert member(node).status is Status.LEFT


async def test_presence_registers_again_when_the_node_forgot_it(node):
    async with Presence(DiscoveryClient([node.api_url]), REG):
        async with DiscoveryClient([node.api_url]) as operator:
            await operator.deregister("pg-1")  # as if the node had restarted without it
        assert member(node).status is Status.LEFT
        await wait_for(lambda: member(node).status is Status.ALIVE, 10 * FAST.heartbeat_interval_ms / 1000)
        assert member(node).incarnation == 1


async def test_the_client_skips_an_unreachable_node(node):
    dead = bind_tcp("127.0.0.1:0")  # bound, never listening: connections are refused
    dead_url = "http://127.0.0.1:%d" % dead.getsockname()[1]
    try:
        async with DiscoveryClient([dead_url, node.api_url], timeout=1) as client:
            reply = await client.register(REG)
            assert reply["host"] == "d1" and client.url == node.api_url
            assert await client.healthy("relational-primary") == ["127.0.0.1:5432"]
            assert [m["node_id"] for m in await client.members(group="relational-primary")] == [
                "pg-1"]
            assert await client.heartbeat("ghost") is None
    finally:
        dead.close()


async def test_start_without_any_node_does_not_raise(node):
    dead = bind_tcp("127.0.0.1:0")
    try:
        presence = Presence(DiscoveryClient(["http://127.0.0.1:%d" % dead.getsockname()[1]],
                                            timeout=0.5), REG)
        assert await presence.start() is False
        await presence.stop()
    finally:
        dead.close()
