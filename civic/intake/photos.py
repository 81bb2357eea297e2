"""The photo steps shared by every upload from a device (reports and task
actions): check and decode in memory, render the stored copies, write the files,
and remove them again when the transaction that would refer to them fails.

Every problem with a photo is an ApiError on the field "photo" that says which
photo (1-based) it was.
"""

from ..errors import ApiError
from ..photos import pipeline
from ..photos.models import Photo
from ..timeutil import local_zone


def check_count(uploads, config):
    limit = config["PHOTOS_PER_REPORT"]
    if len(uploads) > limit:
        raise ApiError(422, "too_many_photos", f"At most {limit} photos at a time.", "photo")


def inspect_all(uploads, config):
    """Inspect every upload (type, size, pixels, EXIF, SHA-256) without rendering."""
    tz = local_zone(config)
    inspected = []
    for index, data in enumerate(uploads):
        try:
            inspected.append(pipeline.inspect(
                data, max_bytes=config["PHOTO_MAX_BYTES"], max_pixels=config["PHOTO_MAX_PIXELS"], local_tz=tz))
        except pipeline.PhotoRejected as exc:
            raise ApiError(exc.status, exc.code, f"Photo {index + 1}: {exc.message}", "photo") from exc
    return inspected


def render_all(inspected, config):
    rendered = []
    for index, item in enumerate(inspected):
        try:
            rendered.append(pipeline.render(
                item, display_max=config["DISPLAY_MAX_SIDE"], thumb_max=config["THUMB_MAX_SIDE"]))
        except pipeline.PhotoRejected as exc:
            raise ApiError(exc.status, exc.code, f"Photo {index + 1}: {exc.message}", "photo") from exc
    return rendered


def write_photos(storage, inspected, rendered, written_keys, *, kind="before", first_position=0):
    """Save the rendered copies and return unsaved Photo rows for them. Every key
    written is appended to `written_keys` at once, so that the caller can remove
    them if anything after this fails (even halfway through this loop)."""
    photos = []
    for offset, (item, out) in enumerate(zip(inspected, rendered)):
        display_key, thumb_key = storage.new_key(), storage.new_key("_t.jpg")
        storage.save(display_key, out.display)
        written_keys.append(display_key)
        storage.save(thumb_key, out.thumb)
        written_keys.append(thumb_key)
        photos.append(Photo(
            kind=kind, position=first_position + offset, sha256=item.sha256, phash=out.phash,
            width=out.width, height=out.height, bytes=len(item.data), source_format=item.format,
            display_key=display_key, thumb_key=thumb_key, taken_at=item.taken_at,
        ))
    return photos


def remove(storage, keys):
    for key in keys:
        storage.delete(key)
