"""Pure pieces of the service: the load balancer's view, fault plans, client settings."""
import pytest

from emulator.discovery.client import ClientSettings, Presence
from emulator.discovery.faults import FaultPlan, FaultSwitch
from emulator.discovery.views import balancer_address, healthy_endpoints
from emulator.membership import Member, Meta, Status


@pytest.mark.parametrize("endpoint,address", [
    ("127.0.0.1:5432", "127.0.0.1:5432"), ("http://127.0.0.1:8080/x", "127.0.0.1:8080"),
    ("https://db.local/", "db.local:443"), ("http://[::1]:9000", "[::1]:9000"),
    ("postgres://u@10.0.0.1:5432/db", "10.0.0.1:5432"), ("nowhere", None), ("ftp://h", None),
    ("http://h:notaport", None),
])
def test_balancer_address(endpoint, address):
    assert balancer_address(endpoint) == address


def test_healthy_endpoints_are_the_alive_members_of_the_group_sorted_and_unique():
    def m(node_id, status, endpoint, groups=("g",)):
        return Member(node_id, 0, status, None, "d", Meta("t", "p", endpoint, groups))
    members = [m("a", Status.ALIVE, "h:2"), m("b", Status.SUSPECT, "h:1"),
               m("c", Status.FAILED, "h:3"), m("d", Status.LEFT, "h:4"),
               m("e", Status.ALIVE, "h:2"), m("f", Status.ALIVE, "h:5", ("other",))]
    assert healthy_endpoints(members, "g") == ["h:2"]
    assert healthy_endpoints(members, "g", include_suspect=True) == ["h:1", "h:2"]
    assert healthy_endpoints(members, "none") == []


def test_fault_plans_block_only_across_their_cuts():
    plan = FaultPlan(partitions=((frozenset({"a", "b"}), frozenset({"c"})),))
    assert plan.blocks("a", "c") and plan.blocks("c", "b")
    assert not plan.blocks("a", "b") and not plan.blocks("a", "d") and not plan.blocks("a", None)
    lonely = FaultPlan(isolate=frozenset({"x"}))
    assert lonely.blocks("x", "a") and lonely.blocks("a", "x") and not lonely.blocks("a", "b")
    assert FaultPlan.from_json(plan.to_json()) == plan


def test_the_fault_switch_drops_about_the_loss_rate_and_counts():
    import random
    switch = FaultSwitch(random.Random(1), FaultPlan(loss=0.3))
    drops = sum(switch.drops("a", "b") for _ in range(10_000))
    assert 2700 < drops < 3300 and switch.dropped_loss == drops


def test_client_settings_from_the_environment():
    assert ClientSettings.from_env({}) is None
    assert ClientSettings.from_env({"WEFTKIT_DISCOVERY_URL": " "}) is None
    settings = ClientSettings.from_env({
        "WEFTKIT_DISCOVERY_URL": "http://127.0.0.1:7475/, http://127.0.0.1:7476",
        "WEFTKIT_DISCOVERY_GROUPS": "relational-primary, eu", "WEFTKIT_DISCOVERY_NODE_ID": "pg-7"})
    assert settings.urls == ("http://127.0.0.1:7475", "http://127.0.0.1:7476")
    assert settings.groups == ("relational-primary", "eu") and settings.node_id == "pg-7"
    assert settings.ssl is None


@pytest.mark.parametrize("env,variable", [
    ({"WEFTKIT_DISCOVERY_URL": "127.0.0.1:7475"}, "WEFTKIT_DISCOVERY_URL"),
    ({"WEFTKIT_DISCOVERY_GROUPS": "a b"}, "WEFTKIT_DISCOVERY_GROUPS"),
    ({"WEFTKIT_DISCOVERY_NODE_ID": "a/b"}, "WEFTKIT_DISCOVERY_NODE_ID"),
    ({"WEFTKIT_DISCOVERY_TLS_CERT": "/x.crt"}, "WEFTKIT_DISCOVERY_TLS_KEY"),
    ({"WEFTKIT_DISCOVERY_TLS_CA": "/no/such/ca.pem"}, "WEFTKIT_DISCOVERY_TLS_CA"),
])
def test_bad_client_settings_name_the_variable(env, variable):
    with pytest.raises(ValueError, match=variable):
        ClientSettings.from_env({"WEFTKIT_DISCOVERY_URL": "http://127.0.0.1:1", **env})


def test_presence_from_env_merges_groups_and_prefers_the_configured_id():
    presence = Presence.from_env(node_id="inst-1", type="relational", protocol="postgres",
                                 endpoint="127.0.0.1:5432", groups=("relational",),
                                 environ={"WEFTKIT_DISCOVERY_URL": "http://127.0.0.1:1",
                                          "WEFTKIT_DISCOVERY_GROUPS": "relational-primary"})
    reg = presence.registration
    assert reg.node_id == "inst-1" and reg.groups == ("relational", "relational-primary")
    assert Presence.from_env(node_id="x", type="t", protocol="p", endpoint="h:1", environ={}) is None
