"""The VAPID key pair (P-256) that identifies this server to push services.

Made once (`flask --app app vapid-keys`, or on first need) as PEM files in the
instance folder: vapid_private.pem (mode 0600) and vapid_public.pem, never
committed. VAPID_PRIVATE_KEY_FILE / VAPID_PUBLIC_KEY_FILE may point elsewhere.
Browsers subscribe with the public key; a new pair makes every existing
subscription useless (push services refuse it with 401/403), so it is never
replaced behind anyone's back.

The public key is always derived from the private one; the public file is
written for people and other tools. Two processes starting at once cannot make
two different pairs: the private file is made by a hard link from a finished
temporary file, which fails if the other process linked first.
"""
import os
import tempfile
from base64 import urlsafe_b64encode
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec


class VapidKeyError(RuntimeError):
    pass


def b64url(data):
    return urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


@dataclass(frozen=True)
class VapidKeys:
    private_key: ec.EllipticCurvePrivateKey
    private_pem: bytes
    public_pem: bytes
    application_server_key: str  # base64url (no padding) of the uncompressed public point, for the browser
    private_path: Path
    public_path: Path


def key_paths(config, instance_path):
    instance = Path(instance_path)
    private = config.get("VAPID_PRIVATE_KEY_FILE") or instance / "vapid_private.pem"
    public = config.get("VAPID_PUBLIC_KEY_FILE") or instance / "vapid_public.pem"
    return Path(private), Path(public)


def _public_pem(private_key):
    return private_key.public_key().public_bytes(serialization.Encoding.PEM,
                                                 serialization.PublicFormat.SubjectPublicKeyInfo)


def _write_atomically(path, data, mode):
    """Write `data` with `mode` to a new temporary file next to `path`; returns its name."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        return tmp
    except BaseException:
        os.unlink(tmp)
        raise


def _create_private(path):
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    tmp = _write_atomically(path, pem, 0o600)
    try:
        os.link(tmp, path)  # fails if another process made the key first: then theirs is used
        return True
    except FileExistsError:
        return False
    finally:
        os.unlink(tmp)


def load_private(path):
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (ValueError, TypeError) as exc:
        raise VapidKeyError(f"{path} is not an unencrypted PEM private key: {exc}") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise VapidKeyError(f"{path} is not a P-256 (prime256v1) key, which VAPID needs.")
    return key


def _point_of(path):
    try:
        key = serialization.load_pem_public_key(path.read_bytes())
        return key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    except (ValueError, TypeError, AttributeError):
        return None


def load_or_create(private_path, public_path, *, create=True):
    """The key pair, made first if the private key file does not exist.
    Returns (VapidKeys, created)."""
    private_path, public_path = Path(private_path), Path(public_path)
    created = False
    if not private_path.exists():
        if not create:
            raise VapidKeyError(f"No VAPID private key at {private_path}; run `flask --app app vapid-keys`.")
        created = _create_private(private_path)
    key = load_private(private_path)
    public_pem = _public_pem(key)
    point = key.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    if not public_path.exists():
        tmp = _write_atomically(public_path, public_pem, 0o644)
        os.replace(tmp, public_path)
    elif _point_of(public_path) != point:
        raise VapidKeyError(f"{public_path} is not the public key of {private_path}; remove it (it is "
                            "written again from the private key) or point VAPID_PUBLIC_KEY_FILE at the right one.")
    private_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
    return VapidKeys(key, private_pem, public_pem, b64url(point), private_path, public_path), created
