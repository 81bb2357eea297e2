"""The OpenAPI document describes the live app: schemathesis generates requests
for every operation of /api/v1 and /open311/v2 from /api/openapi.json, sends
them to the app served in its own process (the demo county), and checks that
none answers a server error, and that every status, content type and JSON body
is one the document allows. Bounded: a few examples per operation."""
import os

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from openapi_spec_validator import validate
from schemathesis.checks import (content_type_conformance, not_a_server_error, response_schema_conformance,
                                 status_code_conformance)
from sqlalchemy import select

from civic.accounts.models import User
from civic.accounts.services import issue_token
from civic.extensions import db
from civic.open311.keys import create_key
from tests.e2e.conftest import AppProcess

# Operations only a resident may use: called as one (the others as a supervisor).
RESIDENT_OPERATIONS = {"GET /api/v1/me/points", "PUT /api/v1/me/leaderboard", "GET /api/v1/me/export",
                       "POST /api/v1/rewards/redemptions", "DELETE /api/v1/me", "GET /api/v1/reports"}
EXAMPLES = int(os.environ.get("CIVIC_SCHEMATHESIS_EXAMPLES", 10))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture
def live(app, runner, tmp_path):
    assert runner.invoke(args=["seed-demo", "--size", "small"]).exit_code == 0
    db.session.remove()
    server = AppProcess(app, tmp_path / "server.log").start()
    server.open311_key = create_key("schemathesis")[0]
    db.session.commit()  # as `flask open311 create-key` does
    yield server
    server.stop()


def test_the_document_is_openapi_3_1_and_describes_every_api_route(app, client):
    document = client.get("/api/openapi.json").get_json()
    assert document["openapi"] == "3.1.0"
    validate(document)  # against the OpenAPI 3.1 meta-schema
    described = {(path, method.upper()) for path, item in document["paths"].items() for method in item}
    routes = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(("/api/v1/", "/open311/v2/")):
            path = rule.rule
            for converter in ("<int:", "<"):
                path = path.replace(converter, "{")
            path = path.replace(">", "}").replace("{fmt}", "{format}")
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                routes.add((path, method))
    # Path parameter names may differ from the view's argument names: compare shapes.
    shape = lambda pairs: {(p.split("{")[0] + "{" * p.count("{"), m) for p, m in pairs}  # noqa: E731
    assert shape(routes) == shape(described)
    page = client.get("/api/docs")
    assert page.status_code == 200 and "/open311/v2/requests.{format}" in page.get_data(as_text=True)


def _token_for(operation):
    db.session.remove()
    username = "resident01" if operation.label in RESIDENT_OPERATIONS else "supervisor"
    user = db.session.scalar(select(User).where(User.username == username))
    token = issue_token(user, device_id=f"schemathesis-{username}")
    db.session.commit()
    return token


def test_every_operation_answers_as_documented(live):
    """Each operation in turn, with Hypothesis examples drawn from its own
    description (schemathesis' pytest integration does not yet run under
    pytest 9, so the operations are walked here)."""
    schema = schemathesis.openapi.from_url(f"{live.url}/api/openapi.json")
    failures, ran = [], 0
    for result in schema.get_all_operations():
        operation = result.ok()

        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                  phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def run(case):
            # A fresh token each time: a generated DELETE /auth/token revokes the one it was sent with.
            headers = {"Authorization": f"Bearer {_token_for(case.operation)}"}
            if case.operation.label == "POST /open311/v2/requests.{format}" and isinstance(case.body, dict):
                case.body["api_key"] = live.open311_key  # a real key, so the filing itself is exercised
            case.call_and_validate(headers=headers, checks=CHECKS, timeout=30)

        ran += 1
        try:
            run()
        except (Exception, BaseExceptionGroup) as failure:  # every operation is tried; all failures reported together
            failures.append(f"{operation.label}: {failure}")
    assert ran >= 39
    assert not failures, "\n\n".join(failures)
