"""A local push service for tests: it checks what a real one would (the VAPID JWT
against the server's public key, the aes128gcm body), decrypts each message as
the browser would, with the subscription's own private key and auth secret, and
answers as it is told (201 by default; 410, 429 with Retry-After, 500, …)."""
import json
import os
import threading
import time
from base64 import urlsafe_b64decode, urlsafe_b64encode
from collections import deque
from dataclasses import dataclass, field

import jwt
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from werkzeug.serving import WSGIRequestHandler, make_server


def b64url(data):
    return urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text):
    return urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _hkdf(salt, info, length, key):
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(key)


def decrypt_aes128gcm(body, private_key, auth_secret):
    """RFC 8291 (Message Encryption for Web Push) over RFC 8188 aes128gcm, as a browser does it."""
    salt, record_size, id_len = body[:16], int.from_bytes(body[16:20], "big"), body[20]
    server_public = body[21:21 + id_len]
    ciphertext = body[21 + id_len:]
    assert id_len == 65 and server_public[0] == 4, "keyid must be the sender's uncompressed P-256 point"
    assert len(ciphertext) <= record_size, "one record only"
    ua_public = private_key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    shared = private_key.exchange(ec.ECDH(), ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), server_public))
    ikm = _hkdf(auth_secret, b"WebPush: info\x00" + ua_public + server_public, 32, shared)
    cek = _hkdf(salt, b"Content-Encoding: aes128gcm\x00", 16, ikm)
    nonce = _hkdf(salt, b"Content-Encoding: nonce\x00", 12, ikm)
    padded = AESGCM(cek).decrypt(nonce, ciphertext, None)
    unpadded = padded.rstrip(b"\x00")
    assert unpadded.endswith(b"\x02"), "the last record ends with the 0x02 delimiter"
    return unpadded[:-1]


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs):
        pass


@dataclass
class Subscriber:
    """A browser's side of a subscription: its key pair and auth secret."""
    name: str
    endpoint: str
    private_key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    auth: bytes = field(default_factory=lambda: os.urandom(16))

    def json(self, **extra):
        point = self.private_key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
        body = {"endpoint": self.endpoint, "expirationTime": None,
                "keys": {"p256dh": b64url(point), "auth": b64url(self.auth)}}
        body.update(extra)
        return body


@dataclass
class Received:
    name: str
    headers: dict
    claims: dict | None
    payload: dict | None
    error: str | None
    status: int
    at: float


class FakePushService:
    def __init__(self, application_server_key, *, host="127.0.0.1", ssl_context=None):
        self.k = application_server_key
        self.public_key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64url(application_server_key))
        self.subscribers = {}
        self.scripts = {}       # name → deque of (status, headers)
        self.delay = 0.0
        self.received = []
        self._lock = threading.Lock()
        self._server = make_server(host, 0, self._wsgi, threaded=True, request_handler=_QuietHandler,
                                   ssl_context=ssl_context)
        self.port = self._server.server_port
        self.origin = f"{'https' if ssl_context else 'http'}://{host}:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self):
        self._server.shutdown()
        self._server.server_close()

    def subscriber(self, name):
        sub = Subscriber(name, f"{self.origin}/push/{name}")
        self.subscribers[name] = sub
        return sub

    def answer(self, name, *responses):
        """Answer the next requests for `name` with these (status, headers) in turn, then 201."""
        self.scripts.setdefault(name, deque()).extend(
            (r, {}) if isinstance(r, int) else r for r in responses)

    def requests_for(self, name):
        return [r for r in self.received if r.name == name]

    # -- checks ----------------------------------------------------------------------

    def verify_vapid(self, header):
        scheme, _, params = (header or "").partition(" ")
        assert scheme.lower() == "vapid", f"Authorization must be 'vapid t=…, k=…', not {header!r}"
        values = dict(part.strip().split("=", 1) for part in params.split(","))
        assert values["k"] == self.k, "k must be the server's VAPID public key"
        claims = jwt.decode(values["t"], self.public_key, algorithms=["ES256"], audience=self.origin,
                            options={"require": ["aud", "exp", "sub"]})
        assert claims["exp"] <= time.time() + 24 * 3600, "exp at most 24 hours ahead (RFC 8292)"
        assert claims["sub"].startswith(("mailto:", "https:")), "sub is a mailto: or https: contact"
        return claims

    def _wsgi(self, environ, start_response):
        name = environ["PATH_INFO"].rsplit("/", 1)[-1]
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        headers = {key[5:].replace("_", "-").title(): value for key, value in environ.items()
                   if key.startswith("HTTP_")}
        headers["Content-Encoding"] = environ.get("HTTP_CONTENT_ENCODING", "")
        claims = payload = error = None
        try:
            assert environ["REQUEST_METHOD"] == "POST"
            assert headers.get("Content-Encoding") == "aes128gcm"
            claims = self.verify_vapid(headers.get("Authorization"))
            sub = self.subscribers[name]
            payload = json.loads(decrypt_aes128gcm(body, sub.private_key, sub.auth))
        except Exception as exc:  # recorded: tests assert there are none
            error = f"{type(exc).__name__}: {exc}"
        if self.delay:
            time.sleep(self.delay)
        with self._lock:
            script = self.scripts.get(name)
            status, extra = script.popleft() if script else (201, {})
            if error:
                status, extra = 400, {}
            self.received.append(Received(name, headers, claims, payload, error, status, time.time()))
        start_response(f"{status} Fake", [("Content-Length", "0"), *extra.items()])
        return [b""]
