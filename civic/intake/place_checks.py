"""Is this the right place? Checks on a report's position, the same for every
channel: the report is accepted whatever they say, but what they find is kept
on the case (`location_flags`) and shown to the dispatcher, so that nothing is
silently accepted either. The field app asks the same questions before a report
goes into the outbox (static/js/place-checks.js).

    outside_county         the point lies more than OUTSIDE_COUNTY_METRES outside
                           every level-1 grid (a photo's GPS from elsewhere, a
                           pin dragged off the map)
    old_photo              the photo was taken more than OLD_PHOTO_DAYS before the
                           report (a picture from the gallery, not of today's problem)
    photo_far_from_device  the photo's GPS is more than PHOTO_FAR_METRES from the
                           phone's own position (the photo was taken somewhere else)
"""
from datetime import timedelta

from flask import current_app

from ..grids.crs import metres_between
from ..grids.lookup import get_index

FLAGS = ("outside_county", "old_photo", "photo_far_from_device")


def location_flags(*, lat, lng, source, photo_gps=None, taken_at=None, received_at, app=None):
    """The flags of a report at (lat, lng) whose position came from `source`
    ("device", "exif", "manual"), with its first photo's EXIF GPS and capture time."""
    app = app or current_app
    config = app.config
    flags = []
    if lat is not None:
        outside = get_index(app).metres_outside(lat, lng)
        if outside is not None and outside > config["OUTSIDE_COUNTY_METRES"]:
            flags.append("outside_county")
    if taken_at is not None and received_at - taken_at > timedelta(days=config["OLD_PHOTO_DAYS"]):
        flags.append("old_photo")
    if photo_gps is not None and lat is not None and source == "device" \
            and metres_between(lat, lng, photo_gps[0], photo_gps[1]) > config["PHOTO_FAR_METRES"]:
        flags.append("photo_far_from_device")
    return flags
