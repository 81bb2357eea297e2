"""Files an administrator uploaded for a preview, kept until they are applied (or
for a day): the preview shows what a file would do, the apply reads the same bytes
again under an unguessable token, so nothing is applied that was not seen."""
import json
import secrets
import time
from pathlib import Path

from flask import abort, current_app

TOKEN_BYTES = 16
KEEP_SECONDS = 24 * 3600


def _directory():
    path = Path(current_app.instance_path) / "imports"
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def sweep():
    """Uploads never applied go after a day."""
    for path in _directory().iterdir():
        if time.time() - path.stat().st_mtime > KEEP_SECONDS:
            path.unlink(missing_ok=True)


def path_for(token, suffix):
    """The file of an upload; 404 for anything but a token this module made."""
    if not (isinstance(token, str) and len(token) == 2 * TOKEN_BYTES and all(c in "0123456789abcdef" for c in token)):
        abort(404)
    return _directory() / f"{token}.{suffix}"


def keep(data, filename, **options):
    """Keep an upload with its name and the options it was checked with; its token."""
    sweep()
    token = secrets.token_hex(TOKEN_BYTES)
    path_for(token, "upload").write_bytes(data)
    path_for(token, "meta").write_text(json.dumps({"filename": filename[:200], **options}), encoding="utf-8")
    return token


def load(token):
    """(data, meta) of a kept upload, or None when it was applied already or swept."""
    try:
        return path_for(token, "upload").read_bytes(), json.loads(path_for(token, "meta").read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None


def discard(token):
    for suffix in ("upload", "meta"):
        path_for(token, suffix).unlink(missing_ok=True)
