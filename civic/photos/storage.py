"""Where photo derivatives live. The file-system store writes atomically (temp
file, fsync, rename) so a crash never leaves a half-written photo behind a key.
An S3-compatible store can take its place behind the same four methods."""
import errno
import os
import tempfile
import uuid
from pathlib import Path


class StorageUnavailable(Exception):
    """The store cannot take a write: full (507) or unwritable/unreachable (503)."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status, self.message = status, message


class FileStorage:
    def __init__(self, root):
        self.root = Path(root)

    @staticmethod
    def new_key(suffix=".jpg"):
        name = uuid.uuid4().hex
        return f"{name[:2]}/{name}{suffix}"

    def path(self, key):
        # Keys are made here (hex and one slash); refuse anything else outright.
        if ".." in key or key.startswith("/"):
            raise ValueError("bad storage key")
        return self.root / key

    def save(self, key, data):
        target = self.path(key)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(data)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(tmp, target)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise StorageUnavailable(507, "Photo storage is full; the report was not saved. It stays on your device and will be sent again.") from exc
            raise StorageUnavailable(503, "Photo storage is not available; the report was not saved. It stays on your device and will be sent again.") from exc

    def delete(self, key):
        try:
            self.path(key).unlink(missing_ok=True)
        except OSError:
            pass  # left for `flask photos gc`

    def exists(self, key):
        return self.path(key).is_file()

    def keys(self):
        for path in self.root.glob("*/*"):
            if path.is_file() and not path.name.startswith(".tmp-"):
                yield f"{path.parent.name}/{path.name}"


def get_storage(app):
    return app.extensions["photo_storage"]
