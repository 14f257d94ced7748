"""The REST API on a real socket (aiohttp_client), its node gossiping on real UDP."""
from dataclasses import replace

import pytest

from emulator.discovery.app import create_app
from emulator.discovery.keys import NODE
from emulator.membership import Status
from tests.discovery.conftest import FAST, T, wait_for

ENGINE = {"node_id": "pg-1", "type": "relational", "protocol": "postgres",
          "endpoint": "127.0.0.1:5432", "groups": ["relational-primary"]}


@pytest.fixture
async def api(aiohttp_client):
    return await aiohttp_client(create_app(replace(FAST, node_id="d1")))


def node_of(api):
    return api.server.app[NODE]


async def register(api, **changes):
    response = await api.post("/v1/register", json={**ENGINE, **changes})
    assert response.status == 201, await response.text()
    return await response.json()


async def test_health_describes_the_node(api):
    response = await api.get("/v1/health")
    body = await response.json()
    assert response.status == 200
    assert body["status"] == "ok" and body["node_id"] == "d1" and body["incarnation"] == 0
    assert body["members"]["alive"] == 1 and body["gossip_addr"].startswith("127.0.0.1:")
    assert body["udp"]["malformed"] == 0


async def test_registration_lists_the_member_with_every_field(api):
    reply = await register(api)
    assert reply["host"] == "d1" and reply["heartbeat_interval_ms"] == FAST.heartbeat_interval_ms
    assert reply["heartbeat_url"] == "/v1/heartbeat/pg-1"
    member = (await (await api.get("/v1/members/pg-1")).json())
    assert {k: member[k] for k in ENGINE} == ENGINE
    assert member["status"] == "alive" and member["incarnation"] == 0 and member["host"] == "d1"
    assert member["last_seen"].endswith("Z") and member["gossip_addr"] is None
    listed = (await (await api.get("/v1/members")).json())["members"]
    assert [m["node_id"] for m in listed] == ["d1", "pg-1"]
    assert listed[0]["type"] == "discovery" and "discovery" in listed[0]["groups"]


async def test_member_filters(api):
    await register(api)
    await register(api, node_id="mongo-1", type="document", groups=["doc"])
    async def ids(query):
        body = await (await api.get(f"/v1/members?{query}")).json()
        return [m["node_id"] for m in body["members"]]
    assert await ids("group=doc") == ["mongo-1"]
    assert await ids("type=relational") == ["pg-1"]
    assert await ids("status=alive,suspect") == ["d1", "mongo-1", "pg-1"]
    assert await ids("status=left") == []
    response = await api.get("/v1/members?status=dead")
    assert response.status == 400 and (await response.json())["field"] == "status"


async def test_unknown_member_is_404(api):
    response = await api.get("/v1/members/nobody")
    assert response.status == 404 and (await response.json())["error"] == "not_found"


@pytest.mark.parametrize("change,field", [
    ({"node_id": ""}, "node_id"), ({"node_id": "a/b"}, "node_id"), ({"type": 5}, "type"),
    ({"protocol": None}, "protocol"), ({"endpoint": "nowhere"}, "endpoint"),
    ({"endpoint": "ftp://host"}, "endpoint"), ({"groups": "g"}, "groups"),
    ({"groups": ["bad group"]}, "groups"), ({"colour": "red"}, "colour"),
])
async def test_a_bad_registration_names_the_field(api, change, field):
    response = await api.post("/v1/register", json={**ENGINE, **change})
    body = await response.json()
    assert response.status == 400 and body["field"] == field, body


async def test_a_body_that_is_not_json_is_400(api):
    response = await api.post("/v1/register", data=b"{nope")
    assert response.status == 400 and (await response.json())["field"] == "body"


async def test_a_discovery_node_id_cannot_be_registered(api):
    response = await api.post("/v1/register", json={**ENGINE, "node_id": "d1"})
    assert response.status == 409


async def test_heartbeats_keep_it_alive_and_unknown_ids_are_told_to_register(api):
    await register(api)
    response = await api.post("/v1/heartbeat/pg-1")
    assert response.status == 200 and (await response.json())["member"]["status"] == "alive"
    response = await api.post("/v1/heartbeat/ghost")
    assert response.status == 404 and (await response.json())["error"] == "not_registered"


async def test_silence_makes_a_registered_member_suspect_then_failed(api):
    await register(api)
    node = node_of(api)
    hb_timeout = FAST.heartbeat_interval_ms * FAST.missed_heartbeats / 1000
    member = lambda: node.core.table.member("pg-1").status
    await wait_for(lambda: member() is Status.SUSPECT, hb_timeout + 1)
    await wait_for(lambda: member() is Status.FAILED, FAST.suspicion_timeout_ms / 1000 + 1)
    response = await api.post("/v1/heartbeat/pg-1")  # it was only slow: back, newer
    body = await response.json()
    assert body["member"]["status"] == "alive" and body["member"]["incarnation"] == 1


async def test_the_load_balancer_view_follows_status(api):
    await register(api)
    await register(api, node_id="pg-2", endpoint="http://127.0.0.1:5433/db")
    await register(api, node_id="pg-3", endpoint="127.0.0.1:5434", groups=["relational-replica"])
    response = await api.get("/v1/groups/relational-primary/healthy")
    assert await response.json() == ["127.0.0.1:5432", "127.0.0.1:5433"]
    text = await (await api.get("/v1/groups/relational-primary/healthy?format=text")).text()
    assert text == "127.0.0.1:5432\n127.0.0.1:5433\n"
    accept = await api.get("/v1/groups/relational-primary/healthy",
                           headers={"Accept": "text/plain"})
    assert accept.content_type == "text/plain"
    assert (await api.delete("/v1/members/pg-2")).status == 200
    assert await (await api.get("/v1/groups/relational-primary/healthy")).json() == [
        "127.0.0.1:5432"]
    group = await (await api.get("/v1/groups/relational-primary")).json()
    assert {m["node_id"]: m["status"] for m in group["members"]} == {"pg-1": "alive",
                                                                     "pg-2": "left"}
    groups = (await (await api.get("/v1/groups")).json())["groups"]
    assert groups["relational-primary"]["left"] == 1 and groups["discovery"]["alive"] == 1
    assert await (await api.get("/v1/groups/nothing/healthy")).json() == []


async def test_leave_rules(api):
    await register(api)
    left = await (await api.delete("/v1/members/pg-1")).json()
    assert left["status"] == "left"
    assert (await api.post("/v1/heartbeat/pg-1")).status == 404  # must register again
    assert (await api.delete("/v1/members/nobody")).status == 404
    assert (await api.delete("/v1/members/d1")).status == 409


async def test_events_feed_reports_changes_in_order(api):
    first = await (await api.get("/v1/events")).json()
    await register(api)
    await api.delete("/v1/members/pg-1")
    body = await (await api.get(f"/v1/events?after={first['last']}&wait=1")).json()
    assert [(e["node_id"], e["previous"], e["status"]) for e in body["events"]] == [
        ("pg-1", None, "alive"), ("pg-1", "alive", "left")]
    empty = await (await api.get(f"/v1/events?after={body['last']}&wait=0.05")).json()
    assert empty == {"events": [], "last": body["last"]}


async def test_fault_hooks(api):
    plan = {"loss": 0.25, "partitions": [[["d1"], ["d2", "d3"]]], "isolate": ["d9"]}
    body = await (await api.post("/v1/faults", json=plan)).json()
    assert body["plan"] == plan
    assert (await (await api.get("/v1/faults")).json())["plan"] == plan
    cleared = await (await api.delete("/v1/faults")).json()
    assert cleared["plan"] == {"loss": 0.0, "partitions": [], "isolate": []}


@pytest.mark.parametrize("plan,field", [
    ({"loss": 2}, "loss"), ({"loss": "x"}, "loss"), ({"partitions": [["a"]]}, "partitions[0]"),
    ({"partitions": [[["a"], ["a"]]]}, "partitions[0]"), ({"isolate": "a"}, "isolate"),
    ({"delay": 1}, "delay"),
])
async def test_a_bad_fault_plan_names_the_field(api, plan, field):
    response = await api.post("/v1/faults", json=plan)
    assert response.status == 400 and (await response.json())["field"] == field
