"""What one report from the field app costs the database (issue 19): the
statements of its unit of work, none of them a re-read of what the request has
just written or an UPDATE of the row it just inserted, and a bearer token that
is looked up without writing."""
import io

import pytest
from PIL import Image
from sqlalchemy import event

from civic.extensions import db
from tests.conftest import new_meta, point_in
from tests.photos.field import FIELD_SIZE, field_photo
from tests.photos.test_kept_jpeg import assert_no_metadata, image_data

# The statements of a report with one photo and a description, in order, on PostgreSQL:
# the case's id comes from its sequence first, so that the INSERT carries the reference.
EXPECTED = [
    "SELECT device_tokens",         # the token and its user, one read
    "SELECT cases",                 # a replay? (the client's id)
    "SELECT categories",            # the category and its default department (the grid: found in memory)
    "SELECT routing_rules",         # the rules that could apply, with their departments
    "SELECT nextval(pg_get_serial_sequence('cases', 'id'))",
    "INSERT INTO cases",
    "INSERT INTO case_events",
    "INSERT INTO case_stages",      # its first stage (accept), on the dispatchers' clock
    "INSERT INTO photos",
    "INSERT INTO stats_daily ",     # the roll-ups, last: their rows stay locked only until the commit
    "INSERT INTO stats_daily_by",
    "INSERT INTO stats_keywords",   # every keyword of the description in one statement
]
# SQLite has no sequence: the id comes with the INSERT and the reference follows it (an
# in-process call there, not a round trip to a server).
EXPECTED_SQLITE = [s for s in EXPECTED if not s.startswith("SELECT nextval")]
EXPECTED_SQLITE[4:8] = ["INSERT INTO cases", "INSERT INTO case_stages", "INSERT INTO photos", "UPDATE cases SET ref",
                      "INSERT INTO case_events"]


@pytest.fixture
def statements(app):
    seen = []

    def record(_conn, _cursor, statement, _params, _context, _many):
        seen.append(" ".join(statement.split()))

    event.listen(db.engine, "before_cursor_execute", record)
    yield seen
    event.remove(db.engine, "before_cursor_execute", record)


def _report(api, photo):
    lat, lng = point_in("L2-1-1")
    return api.post_report(new_meta(lat=lat, lng=lng, description="路边垃圾满溢"), [photo])


def test_a_report_costs_the_statements_it_needs_and_no_more(app, county, api_as, statements, backend):
    from civic.grids.lookup import get_index

    get_index(app).check_seconds = 30  # as in production: other processes' grid changes are looked for twice a minute
    api = api_as(county.worker)
    assert _report(api, field_photo()).status_code == 201  # the token's use is noted once
    statements.clear()
    response = _report(api, field_photo())
    assert response.status_code == 201, response.json
    expected = EXPECTED if backend == "postgis" else EXPECTED_SQLITE
    writes_and_reads = [s for s in statements if not s.startswith(("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE"))]
    assert [next((e for e in expected if s.startswith(e)), s) for s in writes_and_reads] == expected
    if backend == "postgis":
        assert not any(s.startswith("UPDATE") for s in statements)
    body = response.json
    assert body["ref"] == f"CG-{body['created_at'][:4]}-{body['id']:06d}" and body["grid"]["code"] == "L2-1-1"


def test_a_bearer_request_reads_its_token_without_writing(app, county, api_as, statements):
    api = api_as(county.worker)
    assert api.get("/api/v1/tasks").status_code == 200  # the first use is noted
    statements.clear()
    for _ in range(3):
        assert api.get("/api/v1/tasks").status_code == 200
    assert not [s for s in statements if s.startswith(("UPDATE", "INSERT", "DELETE"))]


def test_the_field_photo_is_stored_as_sent_without_its_metadata(app, county, api_as, client):
    upload = field_photo()
    body = _report(api_as(county.worker), upload).json
    [photo] = body["photos"]
    assert (photo["width"], photo["height"]) == FIELD_SIZE
    display, thumb = client.get(photo["url"]).data, client.get(photo["thumb_url"]).data
    assert image_data(display) == image_data(upload)
    assert_no_metadata(display)
    assert_no_metadata(thumb)
    assert Image.open(io.BytesIO(display)).size == FIELD_SIZE


@pytest.mark.parametrize("cut", [30_000, -100])
def test_a_truncated_field_photo_is_refused_and_nothing_is_kept(app, county, api_as, cut):
    from tests.api.test_reports import nothing_written

    response = _report(api_as(county.worker), field_photo()[:cut])
    assert response.status_code == 422 and response.json["error"]["code"] == "photo_unreadable"
    nothing_written(app)
