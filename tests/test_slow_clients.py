"""A dozen clients trickling their requests must not stop the production server
(issue 17, item 11): `make serve-prod` on its own (gunicorn with gunicorn.conf.py,
no nginx in front) keeps answering other requests within a second while twelve
connections send a body, or their headers, one byte at a time. A phone on one bar
of signal uploads like this; so does a slow-loris attack."""
import socket
import threading
import time
import urllib.request

import pytest

from tests.e2e.conftest import GunicornProcess

SLOW_CLIENTS = 12


def get(url, timeout=10):
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.status


def wait_until_up(base):
    for _ in range(150):
        try:
            return get(f"{base}/api/v1/client-config")
        except OSError:
            time.sleep(0.2)
    raise AssertionError("gunicorn did not start")


def trickle(port, first, then, stop):
    """One slow client: send `first`, then `then` one byte every 0.2 s until told to stop."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(first)
        for byte in then:
            if stop.wait(0.2):
                return
            try:
                sock.sendall(bytes([byte]))
            except OSError:
                return  # the server gave up on us: that is allowed


SLOW_BODY = (b"POST /api/v1/reports HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
             b"Content-Length: 100000\r\n\r\n", b"{" * 100000)
SLOW_HEADERS = (b"GET /board/ HTTP/1.1\r\n", b"X-Padding: " + b"a" * 100000)


@pytest.mark.parametrize("kind", ["body", "headers"])
def test_twelve_slow_clients_do_not_stop_the_server(app, backend, tmp_path, runner, kind):
    if backend != "postgis":
        pytest.skip("production (make serve-prod) runs on PostgreSQL + PostGIS")
    assert runner.invoke(args=["seed-demo", "--size", "small"]).exit_code == 0
    server = GunicornProcess(app, tmp_path / "gunicorn.log").start()
    stop = threading.Event()
    clients = []
    try:
        assert wait_until_up(server.url) == 200
        first, then = SLOW_BODY if kind == "body" else SLOW_HEADERS
        clients = [threading.Thread(target=trickle, args=(server.port, first, then, stop), daemon=True)
                   for _ in range(SLOW_CLIENTS)]
        for client in clients:
            client.start()
        time.sleep(1.5)  # every slow client is connected and trickling
        slowest = 0.0
        for path in ["/api/v1/client-config", "/board/", "/auth/login"] * 3:
            started = time.monotonic()
            assert get(server.url + path, timeout=5) == 200
            slowest = max(slowest, time.monotonic() - started)
        assert slowest < 1.0, f"an ordinary request took {slowest:.2f} s behind {SLOW_CLIENTS} slow clients"
        assert all(client.is_alive() for client in clients), "the slow clients were still sending"
    finally:
        stop.set()
        for client in clients:
            client.join(5)
        server.stop()
