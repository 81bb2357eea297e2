"""Photos on an S3-compatible store (PHOTO_STORAGE=s3), against moto's server
running on this machine as a real S3 endpoint over HTTP: a report's photos
land in the bucket and are served back, the clean-up finds orphans there, and
an unreachable store is a 503 with nothing written."""
import uuid

import boto3
import pytest
from moto.server import ThreadedMotoServer
from sqlalchemy import func, select

from civic.cases.models import Case
from civic.extensions import db
from civic.photos.models import Photo
from tests.conftest import new_meta, photo_path, point_in
from tests.e2e.conftest import free_port


@pytest.fixture(scope="module")
def s3_endpoint():
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def bucket(s3_endpoint, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    name = f"photos-{uuid.uuid4().hex[:8]}"
    boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1").create_bucket(Bucket=name)
    return name


def objects(endpoint, bucket):
    listing = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").list_objects_v2(Bucket=bucket)
    return sorted(item["Key"] for item in listing.get("Contents", ()))


def use_s3(app, endpoint, bucket):
    from civic.photos.storage import make_storage

    app.config.update(PHOTO_STORAGE="s3", S3_BUCKET=bucket, S3_ENDPOINT_URL=endpoint, S3_REGION="us-east-1")
    app.extensions["photo_storage"] = make_storage(app.config)


def test_a_reports_photos_go_to_the_bucket_and_come_back(app, client, county, api_as, s3_endpoint, bucket, runner):
    use_s3(app, s3_endpoint, bucket)
    lat, lng = point_in("L2-1-1")
    response = api_as(county.worker).post_report(new_meta(lat=lat, lng=lng), [photo_path("gps/DSCN0010.jpg")])
    assert response.status_code == 201, response.get_json()
    photo = db.session.scalar(select(Photo))
    assert objects(s3_endpoint, bucket) == sorted([photo.display_key, photo.thumb_key])
    served = client.get(response.get_json()["photos"][0]["url"])
    assert served.status_code == 200 and served.mimetype == "image/jpeg" and served.data[:2] == b"\xff\xd8"
    assert client.get("/photos/ab/nothing-here.jpg").status_code == 404
    # An object no row refers to (a crash between the upload and the commit) is found and removed.
    boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1").put_object(
        Bucket=bucket, Key="ff/orphan.jpg", Body=b"x")
    result = runner.invoke(args=["photos", "gc", "--min-age", "0"])
    assert result.exit_code == 0, result.output
    assert "ff/orphan.jpg" not in objects(s3_endpoint, bucket) and photo.display_key in objects(s3_endpoint, bucket)


def test_an_unreachable_store_is_503_and_nothing_is_written(app, county, api_as, bucket):
    use_s3(app, f"http://127.0.0.1:{free_port()}", bucket)  # nobody listens there
    lat, lng = point_in("L2-1-1")
    response = api_as(county.worker).post_report(new_meta(lat=lat, lng=lng), [photo_path("gps/DSCN0010.jpg")])
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "storage_unavailable"
    assert db.session.scalar(select(func.count(Case.id))) == 0
