"""When the database is away (restarting, failing over): every answer is a 503
with Retry-After in the shape its client reads (API JSON, Open311 JSON/XML, a
page that reads nothing from the database), never a stack trace; a COMMIT whose
outcome is unknown keeps the photo files, so the retry's stored case has them;
a dead connection at the end of a request does not spoil its answer."""
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from civic import create_app
from civic.cases.models import Case
from civic.errors import close_session_quietly
from civic.extensions import db
from civic.photos.models import Photo
from tests.conftest import free_port, new_meta, photo_path, point_in


@pytest.fixture
def dead_database_app(tmp_path):
    """The app pointed at a PostgreSQL port nobody listens on."""
    return create_app({"TESTING": True, "SECRET_KEY": "test", "PHOTO_DIR": str(tmp_path / "photos"),
                       "SQLALCHEMY_DATABASE_URI": f"postgresql+psycopg://civic@127.0.0.1:{free_port()}/civic",
                       "PUSH_RUNNER": "inline", "WEBHOOK_RUNNER": "inline", "RATELIMIT_STORAGE_URI": "memory://",
                       "GRID_INDEX_CHECK_SECONDS": 0})


@pytest.mark.parametrize("path, kind", [
    ("/api/v1/categories", "json"), ("/api/v1/me", "json"),
    ("/open311/v2/services.json", "open311-json"), ("/open311/v2/services.xml", "open311-xml"),
    ("/board/", "page"), ("/q/ABC123", "page"),
])
def test_every_answer_while_the_database_is_away_is_503(dead_database_app, path, kind):
    client = dead_database_app.test_client()
    response = client.get(path, headers={"Authorization": "Bearer x"} if kind == "json" else {})
    assert response.status_code == 503, (path, response.get_data(as_text=True)[:300])
    assert response.headers["Retry-After"] == "5"
    body = response.get_data(as_text=True)
    assert "Traceback" not in body and "psycopg" not in body and "127.0.0.1" not in body
    if kind == "json":
        assert response.json["error"]["code"] == "database_unavailable"
        assert "nothing was saved" in response.json["error"]["message"]
    elif kind == "open311-json":
        assert response.json == [{"code": 503, "description": response.json[0]["description"]}]
    elif kind == "open311-xml":
        assert body.startswith("<?xml") and "<code>503</code>" in body
    else:
        assert response.mimetype == "text/html" and 'http-equiv="refresh"' in body


def test_a_report_posted_while_the_database_is_away_is_503(dead_database_app):
    client = dead_database_app.test_client()
    lat, lng = 36.58, 116.25
    response = client.post("/api/v1/reports", json=new_meta(lat=lat, lng=lng), headers={"Authorization": "Bearer x"})
    assert response.status_code == 503 and response.json["error"]["code"] == "database_unavailable"


def _commit_lands_then_the_connection_dies(monkeypatch):
    """The first COMMIT of a new case goes through, and then its connection dies."""
    real_commit, calls = Session.commit, []

    def commit(self):
        with_case = any(isinstance(obj, Case) for obj in list(self.new) + list(self.identity_map.values()))
        real_commit(self)
        if with_case and not calls:
            calls.append(1)
            raise OperationalError("COMMIT", {}, Exception("server closed the connection unexpectedly"))

    monkeypatch.setattr(Session, "commit", commit)
    return calls


def test_a_commit_that_landed_keeps_its_photos_for_the_retry(app, county, api_as, monkeypatch):
    api = api_as(county.worker)
    calls = _commit_lands_then_the_connection_dies(monkeypatch)
    lat, lng = point_in("G-1-1")
    meta = new_meta(lat=lat, lng=lng)
    photos = [photo_path("gps/DSCN0010.jpg"), photo_path("orientation/landscape_1.jpg")]
    first = api.post_report(meta, photos)
    assert calls and first.status_code == 503 and first.json["error"]["code"] == "database_unavailable"
    retry = api.post_report(meta, photos)  # the outbox sends it again: the stored case answers
    assert retry.status_code == 200, retry.get_data(as_text=True)
    db.session.expire_all()
    stored = db.session.query(Photo).all()
    assert len(stored) == 2
    root = Path(app.config["PHOTO_DIR"])
    for photo in stored:
        assert (root / photo.display_key).is_file() and (root / photo.thumb_key).is_file()
    for photo in retry.json["photos"]:
        assert api.client.get(photo["url"], headers=api.headers).status_code == 200


def test_a_dead_connection_at_the_end_of_a_request_is_dropped_quietly(app, county, monkeypatch):
    """close_session_quietly runs at the end of each request's app context (a test
    client inside the fixture's context has none, so it is called here)."""
    db.session.get(Case, 1)  # a session with a connection
    real_close, calls = Session.close, []

    def close(self):
        if not calls:
            calls.append(1)
            raise OperationalError("ROLLBACK", {}, Exception("server closed the connection unexpectedly"))
        real_close(self)

    monkeypatch.setattr(Session, "close", close)
    close_session_quietly()  # no exception: the answer already made goes out
    assert calls
    monkeypatch.undo()
    assert db.session.scalar(select(func.count()).select_from(Case)) == 0  # a fresh session works
