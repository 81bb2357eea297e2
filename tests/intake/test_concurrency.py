"""Twenty devices (or one device retrying twenty times at once) sending the
same report at the same moment make exactly one case."""
import io
import json
import threading

from sqlalchemy import func, select

from civic.cases.models import Case
from civic.extensions import db
from civic.photos.models import Photo
from tests.conftest import new_meta, photo_path, point_in


def test_twenty_concurrent_identical_posts_make_one_case(app, county, api_as):
    api = api_as(county.worker)
    lat, lng = point_in("L2-1-1")
    meta = json.dumps(new_meta(lat=lat, lng=lng))
    photo = photo_path("plain/no_exif.jpg").read_bytes()
    barrier = threading.Barrier(20)
    results = []

    def post():
        client = app.test_client()
        barrier.wait()
        response = client.post("/api/v1/reports", headers=api.headers, content_type="multipart/form-data",
                               data={"meta": meta, "photo": (io.BytesIO(photo), "p.jpg")})
        results.append((response.status_code, response.get_json()))

    threads = [threading.Thread(target=post) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    statuses = sorted(status for status, _ in results)
    assert statuses.count(201) == 1 and statuses.count(200) == 19, statuses
    assert len({body["id"] for _, body in results}) == 1
    db.session.expire_all()
    assert db.session.scalar(select(func.count(Case.id))) == 1
    assert db.session.scalar(select(func.count(Photo.id))) == 1
    # The losers removed the files they wrote: only the winner's two remain.
    from pathlib import Path

    files = [p for p in Path(app.config["PHOTO_DIR"]).rglob("*.jpg")]
    assert len(files) == 2
