"""Where photo derivatives live, behind five methods (new_key, save, read,
delete, exists, and keys for the clean-up):

- FileStorage (the default): the photo folder, written atomically (temp file,
  fsync, rename) so a crash never leaves a half-written photo behind a key;
- S3Storage (PHOTO_STORAGE=s3): an S3-compatible object store (MinIO, Ceph, a
  cloud's), for several app nodes sharing one store. A PUT is atomic by itself.

Either raises StorageUnavailable when it cannot take a write, so the intake
answers 507/503 with nothing half-written."""
import errno
import os
import tempfile
import time
import uuid
from datetime import datetime, timezone
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

    def read(self, key):
        """The bytes under `key`, or None."""
        try:
            return self.path(key).read_bytes()
        except (OSError, ValueError):
            return None

    def keys(self, older_than=None):
        """Every stored key; with `older_than` (a timedelta), only files at least that old."""
        cutoff = time.time() - older_than.total_seconds() if older_than else None
        # Temporary files of writes cut short (a killed process) are keys too: no row names them, so gc takes them.
        for path in self.root.glob("*/*"):
            if path.is_file():
                if cutoff is None or path.stat().st_mtime <= cutoff:
                    yield f"{path.parent.name}/{path.name}"


UNAVAILABLE = ("Photo storage is not available; the report was not saved. It stays on your device and will be "
               "sent again.")


class S3Storage:
    """Photos as objects in one bucket of an S3-compatible store, under the same
    keys as on disk. Credentials come from the environment as boto3 reads them
    (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY) or the instance's role."""

    new_key = staticmethod(FileStorage.new_key)

    def __init__(self, bucket, *, endpoint_url=None, region=None, client=None):
        import boto3
        from botocore.config import Config

        self.bucket = bucket
        self.client = client or boto3.client(
            "s3", endpoint_url=endpoint_url or None, region_name=region or None,
            config=Config(connect_timeout=5, read_timeout=30, retries={"max_attempts": 3, "mode": "standard"}))

    @staticmethod
    def _check(key):
        if not key or ".." in key or key.startswith("/") or "\x00" in key:
            raise ValueError("bad storage key")
        return key

    def save(self, key, data):
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.put_object(Bucket=self.bucket, Key=self._check(key), Body=data, ContentType="image/jpeg")
        except (BotoCoreError, ClientError) as exc:
            raise StorageUnavailable(503, UNAVAILABLE) from exc

    def read(self, key):
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return self.client.get_object(Bucket=self.bucket, Key=self._check(key))["Body"].read()
        except (BotoCoreError, ClientError, ValueError):
            return None

    def delete(self, key):
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.delete_object(Bucket=self.bucket, Key=self._check(key))
        except (BotoCoreError, ClientError, ValueError):
            pass  # left for `flask photos gc`

    def exists(self, key):
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self._check(key))
            return True
        except (BotoCoreError, ClientError, ValueError):
            return False

    def keys(self, older_than=None):
        cutoff = datetime.now(timezone.utc) - older_than if older_than else None
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket):
            for item in page.get("Contents", ()):
                if cutoff is None or item["LastModified"] <= cutoff:
                    yield item["Key"]


def make_storage(config):
    """The store the configuration names (PHOTO_STORAGE: file or s3)."""
    if config["PHOTO_STORAGE"] == "s3":
        return S3Storage(config["S3_BUCKET"], endpoint_url=config.get("S3_ENDPOINT_URL"),
                         region=config.get("S3_REGION"))
    return FileStorage(config["PHOTO_DIR"])


def get_storage(app):
    return app.extensions["photo_storage"]
