"""The HTTP/1.1 client under the sender: kept-alive connections, the ways a
response body can end, a push service closing an idle connection, TLS, timeouts."""
import datetime
import socket
import ssl
import threading

import pytest

from civic.push.keys import load_or_create
from civic.push.sender import PushSender, Target, encode_payload
from civic.push.transport import AsyncHttpPool, HttpError, LoopThread
from tests.push.fake_service import FakePushService


class RawServer:
    """Answers each request on a connection with the next canned bytes; a canned
    None closes the connection instead."""

    def __init__(self, answers):
        self.answers, self.connections, self.requests = list(answers), 0, 0
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn):
        buffer = b""
        with conn:
            while True:
                while b"\r\n\r\n" not in buffer:
                    data = conn.recv(65536)
                    if not data:
                        return
                    buffer += data
                head, _, rest = buffer.partition(b"\r\n\r\n")
                length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                                  if line.lower().startswith(b"content-length")))
                while len(rest) < length:
                    rest += conn.recv(65536)
                buffer = rest[length:]
                self.requests += 1
                answer = self.answers.pop(0) if self.answers else b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n"
                if answer is None:
                    return
                conn.sendall(answer)

    def close(self):
        self.sock.close()


@pytest.fixture
def loop_thread():
    io = LoopThread("test-push-io")
    yield io
    io.stop()


def post(io, pool, port, body=b"x"):
    return io.run(pool.post(f"http://127.0.0.1:{port}/push/a", body, {"TTL": "60"}))


def test_bodies_by_length_chunked_and_close(loop_thread):
    server = RawServer([
        b"HTTP/1.1 400 Bad Request\r\nContent-Length: 11\r\n\r\nbad request",
        b"HTTP/1.1 500 Oops\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nWiki\r\n6;x=y\r\npedia \r\n0\r\nX-T: 1\r\n\r\n",
        b"HTTP/1.1 429 Slow Down\r\nRetry-After: 30\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.0 201 Created\r\n\r\nall until the close",
    ])
    pool = AsyncHttpPool(timeout=5, allow_local=True)
    assert post(loop_thread, pool, server.port)[::2] == (400, b"bad request")
    assert post(loop_thread, pool, server.port)[::2] == (500, b"Wikipedia ")
    status, headers, _ = post(loop_thread, pool, server.port)
    assert (status, headers["retry-after"]) == (429, "30")
    assert post(loop_thread, pool, server.port)[::2] == (201, b"all until the close")
    assert server.connections == 1  # the first three on one kept-alive connection
    assert post(loop_thread, pool, server.port)[0] == 201 and server.connections == 2
    server.close()


def test_an_idle_connection_closed_by_the_service_is_replaced_once(loop_thread):
    server = RawServer([b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n", None])
    pool = AsyncHttpPool(timeout=5, allow_local=True)
    assert post(loop_thread, pool, server.port)[0] == 201
    assert post(loop_thread, pool, server.port)[0] == 201  # the kept one was dead: a new one, same request
    assert server.connections == 2 and server.requests == 3
    server.close()


def test_garbage_and_silence(loop_thread):
    server = RawServer([b"SMTP ready\r\n\r\n"])
    pool = AsyncHttpPool(timeout=5, allow_local=True)
    with pytest.raises(HttpError):
        post(loop_thread, pool, server.port)
    server.close()
    quiet = socket.socket()
    quiet.bind(("127.0.0.1", 0))
    quiet.listen()
    with pytest.raises(TimeoutError):
        post(loop_thread, AsyncHttpPool(timeout=0.3, allow_local=True), quiet.getsockname()[1])
    quiet.close()


def _self_signed(tmp_path):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    # OpenSSL checks the dates on the machine's real clock, which the suite's clock
    # (CIVIC_TEST_NOW) may be months away from: valid for years either side.
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=3650))
            .not_valid_after(now + datetime.timedelta(days=3650))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


def test_https_with_vapid_and_encryption_end_to_end(tmp_path):
    keys, _ = load_or_create(tmp_path / "vapid.pem", tmp_path / "vapid.pub")
    cert_file, key_file = _self_signed(tmp_path)
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(cert_file, key_file)
    service = FakePushService(keys.application_server_key, ssl_context=server_context, host="localhost")
    browser = service.subscriber("tls")
    sender = PushSender(keys, "mailto:ops@city.example", ssl_context=ssl.create_default_context(cafile=cert_file),
                        allow_local=True)
    try:
        keys_json = browser.json()["keys"]
        outcome = sender.send(Target(browser.endpoint, keys_json["p256dh"], keys_json["auth"]),
                              encode_payload({"title": "测试"}), ttl=60, urgency="high", topic="case-1")
        assert outcome.result == "sent", outcome
        [request] = service.received
        assert request.error is None and request.payload == {"title": "测试"}
        assert request.claims["aud"] == f"https://localhost:{service.port}"
    finally:
        sender.close()
        service.stop()
