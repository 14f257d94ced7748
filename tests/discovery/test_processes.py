"""Real OS processes and real signals: SIGKILL, SIGTERM, engines (agents) coming and going."""
import signal

import aiohttp
import pytest

from emulator.membership import Status
from tests.discovery.conftest import (FAST, SUSPICION, T, detection_bound, eventually, status,
                                     wait_for)
from tests.discovery.procs import agent_process, discovery_process, spawn, toml_config


@pytest.fixture
async def http():
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def procs():
    started = []
    yield started
    for proc in started:
        proc.kill()


async def get(http, url):
    async with http.get(url) as response:
        return await response.json()


async def _equals(awaitable, expected):
    return await awaitable == expected


async def remote_status(http, proc, node_id):
    body = await get(http, f"{proc.ready['api']}/v1/members")
    return {m["node_id"]: m["status"] for m in body["members"]}.get(node_id)


@pytest.mark.slow
async def test_sigkill_a_node_and_every_other_node_marks_it_failed_within_the_bound(
        local_cluster, tmp_path, http, procs):
    cluster = await local_cluster(4)
    seeds = [cluster.nodes[0].udp_addr]
    for i in range(3):
        procs.append(discovery_process(tmp_path, f"p{i}", seeds))
    n = 7
    await wait_for(lambda: all(status(o, f"p{i}") is Status.ALIVE
                               for o in cluster.nodes for i in range(3)), 30 * T)
    await wait_for(cluster.converged, 30 * T)
    victim = procs[1]
    victim.popen.send_signal(signal.SIGKILL)
    victim.popen.wait(5)
    took = await wait_for(lambda: cluster.all_see("p1", Status.FAILED), detection_bound(n))
    assert took >= SUSPICION  # failure only after the suspicion timeout
    for survivor in (procs[0], procs[2]):
        assert await remote_status(http, survivor, "p1") == "failed"
    assert await remote_status(http, procs[0], "p2") == "alive"


async def test_sigterm_leaves_gracefully_and_exits_zero(local_cluster, tmp_path, procs):
    cluster = await local_cluster(3)
    proc = discovery_process(tmp_path, "p0", [cluster.nodes[0].udp_addr])
    procs.append(proc)
    assert proc.ready["node_id"] == "p0" and proc.ready["api"].startswith("http://127.0.0.1:")
    await wait_for(lambda: cluster.all_see("p0", Status.ALIVE), 30 * T)
    assert proc.stop(signal.SIGTERM) == 0
    took = await wait_for(lambda: cluster.all_see("p0", Status.LEFT), 10 * T)
    assert took < SUSPICION  # told, not inferred from silence
    assert not [e for o in cluster.nodes for e in o.events
                if e.node_id == "p0" and e.status == "failed"]


@pytest.mark.parametrize("line,key", [
    ('gossip_interval_ms = "fast"', "gossip_interval_ms"), ("colour = 1", "colour"),
    ('seeds = ["nowhere"]', "seeds"), ("probe_timeout_ms = 900", "probe_timeout_ms"),
    ('tls_cert = "/no/such.crt"', "tls_cert"),
])
def test_a_bad_config_stops_the_cli_naming_the_key_and_line(tmp_path, line, key):
    path = tmp_path / "bad.toml"
    path.write_text(f"# a comment\n[discovery]\nbind = \"127.0.0.1:0\"\n{line}\n")
    with pytest.raises(RuntimeError) as failed:
        spawn(["-m", "emulator.cli", "discovery", "--config", str(path)], tmp_path, "bad",
              timeout=20)
    assert f"{path}:4: discovery.{key}" in str(failed.value)


def test_a_toml_syntax_error_names_the_line(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text("[discovery]\nnode_id = \"x\"\nbind = 127.0.0.1:0\n")
    with pytest.raises(RuntimeError, match=r"invalid TOML.*line 3"):
        spawn(["-m", "emulator.cli", "discovery", "--config", str(path)], tmp_path, "broken",
              timeout=20)


async def test_engines_come_and_go_and_groups_follow(local_cluster, tmp_path, http, procs):
    """Agents (the engines' client as real processes) register at different nodes; every
    node's load-balancer view follows them: SIGTERM leaves at once, SIGKILL fails later."""
    cluster = await local_cluster(1)
    a = discovery_process(tmp_path, "a", [cluster.nodes[0].udp_addr])
    b = discovery_process(tmp_path, "b", [cluster.nodes[0].udp_addr])
    procs += [a, b]
    await wait_for(lambda: cluster.all_see("a", Status.ALIVE) and cluster.all_see("b", Status.ALIVE),
                   30 * T)
    e1 = agent_process(tmp_path, "pg-1", a.ready["api"], endpoint="127.0.0.1:5001")
    e2 = agent_process(tmp_path, "pg-2", b.ready["api"], endpoint="http://127.0.0.1:5002")
    procs += [e1, e2]
    assert e1.ready["registered"] and e1.ready["host"] == "a"
    healthy = lambda proc: get(http, f"{proc.ready['api']}/v1/groups/relational-primary/healthy")
    both = ["127.0.0.1:5001", "127.0.0.1:5002"]
    local = cluster.nodes[0]
    for proc in (a, b):
        await eventually(lambda: _equals(healthy(proc), both), 20 * T)

    assert e1.stop(signal.SIGTERM) == 0  # graceful: left
    took = await wait_for(lambda: status(local, "pg-1") is Status.LEFT, 10 * T)
    assert took < SUSPICION
    await eventually(lambda: _equals(healthy(b), ["127.0.0.1:5002"]), 10 * T)

    e2.kill()  # silent: suspect after missed heartbeats, failed after the suspicion timeout
    hb_timeout = FAST.heartbeat_interval_ms * FAST.missed_heartbeats / 1000
    await wait_for(lambda: status(local, "pg-2") is Status.FAILED,
                   hb_timeout + SUSPICION + 10 * T + 1)
    for proc in (a, b):
        await eventually(lambda: _equals(healthy(proc), []), 5 * T)
    assert await remote_status(http, a, "pg-2") == "failed"


async def test_an_engine_fails_over_when_its_node_dies(local_cluster, tmp_path, procs):
    cluster = await local_cluster(1)
    a = discovery_process(tmp_path, "a", [cluster.nodes[0].udp_addr])
    b = discovery_process(tmp_path, "b", [cluster.nodes[0].udp_addr])
    procs += [a, b]
    urls = f"{a.ready['api']},{b.ready['api']}"
    agent = agent_process(tmp_path, "pg-9", urls, endpoint="127.0.0.1:5009")
    procs.append(agent)
    assert agent.ready["host"] == "a"
    local = cluster.nodes[0]
    await wait_for(lambda: status(local, "pg-9") is Status.ALIVE, 20 * T)
    a.kill()
    member = lambda: local.core.table.member("pg-9")
    await wait_for(lambda: member().host == "b" and member().status is Status.ALIVE,
                   detection_bound(3) + 2)
    assert member().incarnation >= 1
