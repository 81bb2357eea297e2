"""Fixtures for push tests: a fake push service with the app's VAPID key, and subscribing through the API."""
import pytest

from civic.push.jobs import push_state
from tests.push.fake_service import FakePushService


@pytest.fixture
def fake_push(app):
    service = FakePushService(push_state(app).keys.application_server_key)
    yield service
    service.stop()


@pytest.fixture
def subscribe(fake_push, api_as):
    """subscribe(user, name="w1") → (Api, Subscriber): the user's browser subscribed through the API."""

    def make(user, name=None, **extra):
        api = api_as(user)
        sub = fake_push.subscriber(name or f"{user.username}-{len(fake_push.subscribers)}")
        response = api.client.post("/api/v1/push/subscriptions", json=sub.json(**extra), headers=api.headers)
        assert response.status_code == 201, response.get_data(as_text=True)
        return api, sub

    return make
