"""Who wants to hear what, and when: each user's notification preferences
(quiet at night, residents' updates on their reports) and when a notification
made at night may go."""
import re
from datetime import datetime, time, timedelta, timezone

from ..errors import ApiError
from ..extensions import db, upsert
from ..timeutil import utcnow
from .models import DEFAULT_NIGHT, NotificationPreference
from .subscriptions import invalid

NIGHT = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$")

DEFAULTS = {"mute_at_night": False, "night": DEFAULT_NIGHT, "resident_updates": False}


def preferences_of(user_id):
    """The user's preferences as a dict (the defaults without a row)."""
    row = db.session.get(NotificationPreference, user_id)
    if row is None:
        return dict(DEFAULTS)
    return {"mute_at_night": row.mute_at_night, "night": row.night, "resident_updates": row.resident_updates}


def parse_night(value):
    """"22:00-07:00" → (time(22, 0), time(7, 0)); None when it is not that shape."""
    match = NIGHT.fullmatch(value) if isinstance(value, str) else None
    if not match:
        return None
    h1, m1, h2, m2 = (int(x) for x in match.groups())
    return time(h1, m1), time(h2, m2)


def update_preferences(user, data):
    """Change the fields given (the others stay); 422 naming the first wrong one."""
    if not isinstance(data, dict):
        raise ApiError(400, "invalid_json", "The body must be a JSON object.")
    changes = {}
    for field in ("mute_at_night", "resident_updates"):
        if field in data:
            if not isinstance(data[field], bool):
                raise invalid(field, f"{field} must be true or false.")
            changes[field] = data[field]
    if "night" in data:
        night = data["night"].strip() if isinstance(data["night"], str) else data["night"]
        window = parse_night(night)
        if window is None:
            raise invalid("night", "night must be two local times, HH:MM-HH:MM (e.g. 22:00-07:00).")
        if window[0] == window[1]:
            raise invalid("night", "night must start and end at different times.")
        changes["night"] = night
    values = {**preferences_of(user.id), **changes}
    statement = upsert(NotificationPreference).values(user_id=user.id, updated_at=utcnow(), **values)
    statement = statement.on_conflict_do_update(index_elements=["user_id"], set_={**values, "updated_at": utcnow()})
    db.session.execute(statement)
    return preferences_of(user.id)


def night_release(preferences, now, zone):
    """When a non-urgent notification made at `now` (naive UTC) may go: `now`, or
    the end of the user's night when they mute at night and it is night now."""
    if not preferences or not preferences.get("mute_at_night"):
        return now
    window = parse_night(preferences.get("night") or DEFAULT_NIGHT)
    if window is None or window[0] == window[1]:
        return now
    start, end = window
    local = now.replace(tzinfo=timezone.utc).astimezone(zone)
    clock = local.time().replace(tzinfo=None)
    if start < end:
        at_night = start <= clock < end
    else:  # across midnight
        at_night = clock >= start or clock < end
    if not at_night:
        return now
    day = local.date() if clock < end else local.date() + timedelta(days=1)
    release = datetime.combine(day, end, tzinfo=zone)
    return release.astimezone(timezone.utc).replace(tzinfo=None)
