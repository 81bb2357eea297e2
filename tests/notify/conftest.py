"""Fixtures for group notification tests: the fake platform endpoint, and a department's group configured."""
import pytest

from civic.extensions import db
from tests.notify.fake_endpoint import FakeEndpoint


@pytest.fixture
def endpoint():
    fake = FakeEndpoint()
    yield fake
    fake.stop()


@pytest.fixture
def group(county, endpoint):
    """group("dingtalk", "SAN", secret="SEC…") → the robot's name: the department's group on the fake endpoint."""

    def configure(platform, department="SAN", secret=None, robot=None, kind="given"):
        robot = robot or f"{platform}-{department.lower()}"
        dept = county.departments[department]
        dept.webhook_url = endpoint.url(platform, robot)
        dept.webhook_kind = platform if kind == "given" else kind
        dept.webhook_secret = secret
        if secret:
            endpoint.secrets[robot] = secret
        db.session.commit()
        return robot

    return configure
