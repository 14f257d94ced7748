"""docs/discovery-openapi.yaml documents exactly the routes the app serves."""
from dataclasses import replace

import yaml

from emulator.discovery.app import create_app
from tests.discovery.conftest import FAST
from tests.support.processes import REPO


def test_every_route_is_documented_and_every_documented_route_exists():
    spec = yaml.safe_load((REPO / "docs" / "discovery-openapi.yaml").read_text())
    documented = {(method.upper(), path) for path, ops in spec["paths"].items()
                  for method in ops if method != "parameters"}
    app = create_app(replace(FAST, node_id="x"))
    served = {(route.method, route.resource.canonical) for route in app.router.routes()
              if route.method != "HEAD"}
    assert documented == served
