"""Reports with an 8-megapixel phone photo through the full intake (HTTP, EXIF,
derivatives, storage, one transaction), with our pipeline and with a naive one
(decode every pixel, transpose, resize, save) swapped in, in the same run.

    .venv/bin/python bench/ingest.py [--reports N]
Goal: ≥ 3× the naive pipeline's reports/s.

    .venv/bin/python bench/ingest.py --field [--reports 300] [--rounds 2] [--baseline REF|none] [--sqlite]
The field app's photo through the production server against an earlier commit's
pipeline, at concurrency 1 and 8 (bench/ingest_field.py, issue 19).
"""
import argparse
import io
import json
import logging
import sys
import uuid

from _common import SHARED_PHOTOS, make_app, timed


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--reports", type=int, help="reports per round (20; with --field 300)")
    parser.add_argument("--field", action="store_true", help="the field app's photo through gunicorn, c=1 and c=8")
    parser.add_argument("--rounds", type=int, default=2, help="with --field: rounds per side and concurrency")
    parser.add_argument("--baseline", default=None, help="with --field: the commit to compare with, or none")
    parser.add_argument("--sqlite", action="store_true", help="with --field: SQLite instead of PostGIS")
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    if args.field:
        import ingest_field

        args.reports = args.reports or 300
        args.baseline = args.baseline or ingest_field.DEFAULT_BASELINE
        return ingest_field.run(args)
    args.reports = args.reports or 20

    from civic.accounts.services import issue_token
    from civic.demo.seed import seed
    from civic.extensions import db
    from civic.photos import pipeline
    from civic.photos.storage import get_storage

    app = make_app()
    photo = (SHARED_PHOTOS / "mobile" / "jolla.jpg").read_bytes()  # 3264×2448, a real phone photo
    with app.app_context():
        seed(app, get_storage(app), "small")
        from civic.accounts.models import User

        worker = db.session.scalar(db.select(User).where(User.username == "worker001"))
        token = issue_token(worker)
        db.session.commit()
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}

    def post(_):
        meta = {"client_id": str(uuid.uuid4()), "category": "E0102", "lat": 36.58, "lng": 116.25}
        response = client.post("/api/v1/reports", headers=headers, content_type="multipart/form-data",
                               data={"meta": json.dumps(meta), "photo": (io.BytesIO(photo), "p.jpg")})
        assert response.status_code == 201, response.get_data(as_text=True)

    post(0)  # warm up: grid index, caches
    ours = timed(post, args.reports)

    real_render = pipeline.render

    def naive(inspected, *, display_max, thumb_max):
        display, thumb = pipeline.naive_render(inspected.data, display_max=display_max, thumb_max=thumb_max)
        from PIL import Image

        size = Image.open(io.BytesIO(display)).size
        return pipeline.Rendered(display, thumb, size[0], size[1], pipeline.difference_hash(Image.open(io.BytesIO(thumb))))

    pipeline.render = naive
    try:
        baseline = timed(post, args.reports)
    finally:
        pipeline.render = real_render

    ours_rate, naive_rate = args.reports / ours, args.reports / baseline
    print(f"ingest: {args.reports} reports with an 8 MP photo each")
    print(f"  civic pipeline : {ours_rate:7.1f} reports/s ({1000 * ours / args.reports:6.1f} ms each)")
    print(f"  naive pipeline : {naive_rate:7.1f} reports/s ({1000 * baseline / args.reports:6.1f} ms each)")
    print(f"  ratio          : {ours_rate / naive_rate:7.2f}x (goal >= 3x)")


if __name__ == "__main__":
    sys.exit(main())
