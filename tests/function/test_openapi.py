"""docs/function-openapi.yaml describes exactly the routes the function serves, and validates."""
import schemathesis
import yaml

from emulator.function.app import create_app
from emulator.function.config import FunctionConfig
from tests.support.processes import REPO

DOC = REPO / "docs" / "function-openapi.yaml"


def documented_routes(path) -> set[tuple[str, str]]:
    spec = yaml.safe_load(path.read_text())
    return {(method.upper(), route) for route, ops in spec["paths"].items()
            for method in ops if method != "parameters"}


def served_routes(app) -> set[tuple[str, str]]:
    return {(route.method, route.resource.canonical) for route in app.router.routes()
            if route.method != "HEAD"}


def test_every_route_is_documented_and_every_documented_route_exists():
    app = create_app(FunctionConfig(secret="s", s3_endpoint="http://127.0.0.1:1", bucket="b"))
    assert documented_routes(DOC) == served_routes(app)


def test_the_document_is_valid_openapi_and_every_operation_loads():
    schema = schemathesis.openapi.from_path(DOC)
    schema.validate()  # raises on a document that is not OpenAPI 3.0
    operations = list(schema.get_all_operations())
    assert operations and all(type(op).__name__ == "Ok" for op in operations)


def test_the_contract_statuses_are_the_only_ones_described():
    """Seed 000's table: 5xx only for a transient store failure (503)."""
    spec = yaml.safe_load(DOC.read_text())
    for route in ("/persist", "/restore", "/health"):
        statuses = {int(s) for s in spec["paths"][route]["get" if route != "/persist" else "post"]["responses"]}
        assert {s for s in statuses if s >= 500} == {503}, route
        assert {400, 401, 429} <= statuses, route
