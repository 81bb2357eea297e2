"""Photo derivatives. Keys are random (128 bits) and only handed out to those
who may see the case, so a key works as a capability; the files carry no EXIF."""
from flask import Blueprint, Response, abort, current_app, send_file

from .storage import FileStorage, get_storage

bp = Blueprint("media", __name__)


@bp.get("/photos/<path:key>")
def photo(key):
    storage = get_storage(current_app)
    if isinstance(storage, FileStorage):  # from disk, with conditional requests and ranges
        try:
            path = storage.path(key)
        except ValueError:
            abort(404)
        if not path.is_file():
            abort(404)
        response = send_file(path, mimetype="image/jpeg", max_age=365 * 24 * 3600, conditional=True)
    else:  # an object store: through the app (put a CDN or nginx cache in front for many phones)
        data = storage.read(key)
        if data is None:
            abort(404)
        response = Response(data, mimetype="image/jpeg")
    response.headers["Cache-Control"] = "private, max-age=31536000, immutable"
    return response
