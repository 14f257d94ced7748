"""The Azure host's routing, pure: host.json's routePrefix and route templates."""
from __future__ import annotations

import pytest

from emulator.platforms.azure_host import routes


def test_catch_all_takes_the_rest_of_the_path_even_empty():
    r = routes.compile_route("{*path}")
    assert r.match(["persist"]) == {"path": "persist"}
    assert r.match(["a", "b"]) == {"path": "a/b"}
    assert r.match([]) == {"path": ""}


def test_literals_params_and_optionals():
    r = routes.compile_route("items/{id}/{part?}")
    assert r.match(["Items", "7"]) == {"id": "7"}  # literals are case-insensitive
    assert r.match(["items", "7", "x"]) == {"id": "7", "part": "x"}
    assert r.match(["items"]) is None
    assert r.match(["other", "7"]) is None
    assert r.match(["items", "7", "x", "y"]) is None


@pytest.mark.parametrize("template, says", [("items/{id:int}", "constraints"),
                                            ("{*rest}/tail", "last segment")])
def test_templates_this_host_cannot_serve_are_refused_by_name(template, says):
    with pytest.raises(routes.RouteError, match=says) as err:
        routes.compile_route(template)
    assert template in str(err.value)


def test_route_prefix_defaults_to_api_and_can_be_emptied():
    assert routes.route_prefix(None) == "api"
    assert routes.route_prefix({"extensions": {"http": {"routePrefix": ""}}}) == ""
    assert routes.route_prefix({"extensions": {"http": {"routePrefix": "/v1/"}}}) == "v1"
    with pytest.raises(routes.RouteError, match="routePrefix"):
        routes.route_prefix({"extensions": {"http": {"routePrefix": 3}}})
    with pytest.raises(routes.RouteError, match="host.json: not JSON"):
        routes.load_host_json("{", "host.json")


def test_strip_prefix():
    assert routes.strip_prefix("api", "/api/persist") == ["persist"]
    assert routes.strip_prefix("api", "/persist") is None
    assert routes.strip_prefix("", "/persist/") == ["persist"]


def test_methods():
    assert routes.allows(None, "PUT")
    assert routes.allows(("GET", "POST"), "post")
    assert not routes.allows(("GET",), "POST")
