"""Deactivating whoever left: their phone's token and their browser's session end
at once, their open tasks go back to the queue with an event, and the audit log
says who did it; reactivating lets them log in again."""
import hashlib
import secrets

from sqlalchemy import select

from civic.accounts.models import LoginSession
from civic.admin.models import AuditEntry
from civic.cases.models import CaseEvent
from civic.extensions import db
from tests.conftest import PASSWORD


def test_deactivating_ends_the_token_and_the_session_and_releases_the_tasks(app, client, county, make_case, api_as,
                                                                           runner):
    api = api_as(county.worker)
    assert api.client.get("/api/v1/tasks", headers=api.headers).status_code == 200
    key = secrets.token_urlsafe(16)
    db.session.add(LoginSession(user=county.worker, key_hash=hashlib.sha256(key.encode()).hexdigest()))
    db.session.commit()
    browser = app.test_client()
    with browser.session_transaction() as session:
        session["_user_id"] = f"s:{key}"
        session["_fresh"] = True
    assert browser.get("/").status_code == 200
    case = make_case("acknowledged", grid="L2-1-1", assignee=county.worker)

    result = runner.invoke(args=["users", "deactivate", "worker"])
    assert result.exit_code == 0 and f"1 open tasks back in the queue: {case.ref}" in result.output
    assert api.client.get("/api/v1/tasks", headers=api.headers).status_code == 401
    assert browser.get("/").status_code == 302  # to the login page
    db.session.expire_all()
    assert case.assignee_id is None and case.status == "acknowledged"
    event = db.session.scalar(select(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.action == "unassign"))
    assert event is not None and event.data["reason"] == "deactivated"
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "user.deactivate"))
    assert entry.actor_name == "command line" and entry.after["tasks_released"] == [case.ref]

    assert client.post("/api/v1/auth/token", json={"username": "worker", "password": PASSWORD}).status_code == 401
    assert runner.invoke(args=["users", "reactivate", "worker"]).exit_code == 0
    assert runner.invoke(args=["users", "deactivate", "nobody"]).exit_code != 0
