"""The api_keys other systems file requests with: only a hash is kept, the key is shown once."""
import hashlib
import secrets

from sqlalchemy import select

from ..extensions import db
from ..timeutil import utcnow
from .models import ApiKey


def _hash(raw):
    return hashlib.sha256(raw.encode()).hexdigest()


def create_key(name, created_by=None):
    """A new key for the system `name`: (the key, its row). The key is shown once."""
    name = (name or "").strip()
    if not name or len(name) > 100 or "\x00" in name:
        raise ValueError("A key needs a name of 1 to 100 characters.")
    raw = secrets.token_urlsafe(24)
    key = ApiKey(name=name, key_hash=_hash(raw), prefix=raw[:6], created_by=created_by)
    db.session.add(key)
    db.session.flush()
    return raw, key


def find_key(raw):
    """The active key `raw` is, or None."""
    if not raw or len(raw) > 200:
        return None
    return db.session.scalar(select(ApiKey).where(ApiKey.key_hash == _hash(raw), ApiKey.revoked_at.is_(None)))


def revoke_key(key):
    if key.revoked_at is None:
        key.revoked_at = utcnow()
