"""Browsers' push subscriptions: checking what a browser sends (only the push
services browsers use, never an address of this network), saving it as the
user's, and forgetting it on logout. No request objects here; API views pass
plain values."""
import binascii
import hashlib
import ipaddress
import re
from base64 import urlsafe_b64decode
from dataclasses import dataclass
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric import ec
from flask import current_app
from sqlalchemy import case as sql_case, delete, select

from ..errors import ApiError
from ..extensions import db, upsert
from ..timeutil import utcnow
from .keys import VapidKeyError
from .models import PushSubscription

ENDPOINT_MAX = 2048
DEVICE_ID_MAX = 64
USER_AGENT_MAX = 256
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}
B64URL = re.compile(r"^[A-Za-z0-9_-]+={0,2}$")


def invalid(field, message, code="invalid"):
    return ApiError(422, code, message, field)


def public_key():
    """The VAPID public key browsers subscribe with (made on first need; base64url,
    no padding), or None when it cannot be read or made."""
    from .jobs import push_state

    try:
        return push_state().keys.application_server_key
    except (VapidKeyError, OSError):
        current_app.logger.exception("VAPID keys unavailable")
        return None


@dataclass(frozen=True)
class SubscriptionIn:
    endpoint: str
    p256dh: str   # base64url without padding
    auth: str
    device_id: str | None


def endpoint_hash(endpoint):
    return hashlib.sha256(endpoint.encode()).hexdigest()


def known_push_service(host, allowed):
    """Whether `host` is one of the push services in `allowed` (a name, or a domain
    whose subdomains all count: "push.apple.com" takes "web.push.apple.com")."""
    return any(host == entry or host.endswith("." + entry) for entry in allowed)


def _is_ip_literal(host):
    try:
        ipaddress.ip_address(host.strip("[]"))
        return True
    except ValueError:
        return False


def _endpoint(value, allow_http_local, allowed_hosts=()):
    if value is None or value == "":
        raise invalid("endpoint", "endpoint is required.", "required")
    if not isinstance(value, str):
        raise invalid("endpoint", "endpoint must be a URL.")
    value = value.strip()
    if len(value) > ENDPOINT_MAX:
        raise invalid("endpoint", f"endpoint is too long (at most {ENDPOINT_MAX} characters).", "too_long")
    if not value.isascii() or any(ord(ch) <= 0x20 or ord(ch) == 0x7F for ch in value):
        raise invalid("endpoint", "endpoint must be a URL without spaces or control characters.")
    parts = urlsplit(value)
    try:
        parts.port  # noqa: B018  (raises on a bad port)
    except ValueError:
        raise invalid("endpoint", "endpoint has an invalid port.") from None
    host = (parts.hostname or "").lower()
    if not host or parts.username is not None or parts.password is not None or parts.fragment:
        raise invalid("endpoint", "endpoint must be an https URL of a push service.")
    if allow_http_local and host in LOCAL_HOSTS and parts.scheme in ("http", "https"):
        return value  # the tests' fake push service, with PUSH_ALLOW_HTTP_LOCALHOST only
    if parts.scheme != "https":
        raise invalid("endpoint", "endpoint must be an https URL.", "https_required")
    # The server will POST to this URL: only to the push services browsers use, never
    # to an address of this network (a probe of the intranet through our server).
    if _is_ip_literal(host) or not known_push_service(host, allowed_hosts):
        raise invalid("endpoint", "endpoint must be the URL of a known push service (FCM, Mozilla, Apple, "
                                   "Microsoft, or one this deployment trusts).", "unknown_push_service")
    return value


def _b64url(value, field, length):
    if value is None or value == "":
        raise invalid(field, f"{field} is required.", "required")
    if not isinstance(value, str):
        raise invalid(field, f"{field} must be base64url text.")
    value = value.strip()
    if not B64URL.fullmatch(value):
        raise invalid(field, f"{field} must be base64url (A–Z, a–z, 0–9, '-', '_').")
    bare = value.rstrip("=")
    try:
        raw = urlsafe_b64decode(bare + "=" * (-len(bare) % 4))
    except (binascii.Error, ValueError):
        raise invalid(field, f"{field} is not valid base64url.") from None
    if len(raw) != length:
        raise invalid(field, f"{field} must be {length} bytes, not {len(raw)}.", "wrong_length")
    return raw, bare


def parse_subscription(data, *, allow_http_local=False, allowed_hosts=()):
    """A PushSubscription.toJSON() from a browser, plus the app's device_id."""
    if not isinstance(data, dict):
        raise ApiError(400, "invalid_json", "The body must be a JSON object.")
    endpoint = _endpoint(data.get("endpoint"), allow_http_local, allowed_hosts)
    keys = data.get("keys")
    if keys is None:
        raise invalid("keys", "keys (p256dh and auth) are required.", "required")
    if not isinstance(keys, dict):
        raise invalid("keys", "keys must be an object with p256dh and auth.")
    point, p256dh = _b64url(keys.get("p256dh"), "keys.p256dh", 65)
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    except ValueError:
        raise invalid("keys.p256dh", "keys.p256dh is not a point on the P-256 curve.") from None
    _raw, auth = _b64url(keys.get("auth"), "keys.auth", 16)
    device_id = data.get("device_id")
    if device_id is not None:
        if not isinstance(device_id, str):
            raise invalid("device_id", "device_id must be text.")
        device_id = device_id.strip()
        if len(device_id) > DEVICE_ID_MAX:
            raise invalid("device_id", f"device_id is too long (at most {DEVICE_ID_MAX} characters).", "too_long")
        if "\x00" in device_id:
            raise invalid("device_id", "device_id contains a NUL character.")
        device_id = device_id or None
    return SubscriptionIn(endpoint, p256dh, auth, device_id)


def save_subscription(user, data, *, user_agent=None, allow_http_local=False, allowed_hosts=(), now=None):
    """Insert or update the subscription (by endpoint) as `user`'s, in one statement;
    another user's subscription of the same endpoint becomes this user's (one
    browser, one person at a time). An older subscription of the same device is
    removed: the browser has replaced it. Returns (subscription, created)."""
    sub = parse_subscription(data, allow_http_local=allow_http_local, allowed_hosts=allowed_hosts)
    now = now or utcnow()
    digest = endpoint_hash(sub.endpoint)
    existed = db.session.scalar(select(PushSubscription.id).where(PushSubscription.endpoint_hash == digest))
    values = {"user_id": user.id, "device_id": sub.device_id, "endpoint": sub.endpoint, "p256dh": sub.p256dh,
              "auth": sub.auth, "user_agent": (user_agent or "")[:USER_AGENT_MAX] or None, "updated_at": now}
    statement = upsert(PushSubscription).values(endpoint_hash=digest, created_at=now, failures=0, **values)
    # Same endpoint again: new keys or a new user mean a fresh start for its failure count, and
    # a new owner learns nothing of how deliveries to the previous one went.
    same_owner = PushSubscription.user_id == user.id
    statement = statement.on_conflict_do_update(index_elements=["endpoint_hash"], set_={
        **values, "failures": 0,
        "last_success_at": sql_case((same_owner, PushSubscription.last_success_at), else_=None),
        "last_failure_at": sql_case((same_owner, PushSubscription.last_failure_at), else_=None)})
    db.session.execute(statement)
    if sub.device_id:  # the browser replaced its own older subscription (never another user's)
        db.session.execute(delete(PushSubscription).where(
            PushSubscription.device_id == sub.device_id, PushSubscription.endpoint_hash != digest,
            PushSubscription.user_id == user.id))
    row = db.session.scalar(select(PushSubscription).where(PushSubscription.endpoint_hash == digest))
    return row, existed is None


def delete_subscription(user, data):
    """Remove `user`'s subscription of this endpoint (on logout); another user's or
    an unknown one is left alone, and that is not an error."""
    if not isinstance(data, dict):
        raise ApiError(400, "invalid_json", "The body must be a JSON object.")
    endpoint = data.get("endpoint")
    if endpoint is None or endpoint == "":
        raise invalid("endpoint", "endpoint is required.", "required")
    if not isinstance(endpoint, str):
        raise invalid("endpoint", "endpoint must be a URL.")
    db.session.execute(delete(PushSubscription).where(
        PushSubscription.endpoint_hash == endpoint_hash(endpoint.strip()), PushSubscription.user_id == user.id))
