"""docs/control-openapi.yaml describes exactly the control API's routes, and validates."""
import schemathesis

from emulator.api.app import create_app
from tests.function.test_openapi import documented_routes, served_routes
from tests.support.processes import REPO

DOC = REPO / "docs" / "control-openapi.yaml"


def test_every_route_is_documented_and_every_documented_route_exists():
    app = create_app(supervisor=None)  # routes only: no handler runs
    assert documented_routes(DOC) == served_routes(app)


def test_the_document_is_valid_openapi_and_every_operation_loads():
    schema = schemathesis.openapi.from_path(DOC)
    schema.validate()
    operations = list(schema.get_all_operations())
    assert operations and all(type(op).__name__ == "Ok" for op in operations)


def test_the_control_api_documents_no_5xx():
    import yaml
    spec = yaml.safe_load(DOC.read_text())
    statuses = {int(s) for ops in spec["paths"].values() for op in ops.values()
                if isinstance(op, dict) and "responses" in op for s in op["responses"]}
    assert statuses and max(statuses) < 500
