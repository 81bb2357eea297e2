"""Posting to push services: many requests in flight from one event loop thread,
over kept-alive HTTP/1.1 connections, a few per push service.

Why not threads around http.client: sending is mostly CPU (encryption, building
and parsing HTTP) with short waits, and threads then spend their time handing
the GIL to each other (measured: 16 threads were slower than one). One asyncio
loop keeps every connection busy while the CPU work runs back to back, and still
hides a real push service's network latency (tens of ms a request).

Only what push services need of HTTP/1.1: one request at a time on a connection,
a response body by Content-Length, chunked, or up to the close. Plain http is for
local tests and the benchmark. The loop runs in a daemon thread of its own,
started on first use (again after a fork); `post_many` is called from any thread.
"""
import asyncio
import ipaddress
import os
import socket
import ssl
import threading
from urllib.parse import urlsplit

HEAD_MAX = 64 * 1024
BODY_MAX = 64 * 1024


class HttpError(Exception):
    """The push service's answer could not be read as HTTP."""


class _Connection:
    def __init__(self, reader, writer):
        self.reader, self.writer = reader, writer

    def close(self):
        self.writer.close()

    async def request(self, head, body):
        self.writer.write(head + body)
        try:
            raw = await self.reader.readuntil(b"\r\n\r\n")
        except asyncio.LimitOverrunError:
            raise HttpError("response headers too long") from None
        lines = raw[:-4].decode("latin-1").split("\r\n")
        parts = lines[0].split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
            raise HttpError(f"not an HTTP response: {lines[0][:80]!r}")
        status, http10 = int(parts[1]), parts[0] == "HTTP/1.0"
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        connection = headers.get("connection", "").lower()
        keep = not (http10 and connection != "keep-alive") and connection != "close"
        if status in (204, 304) or 100 <= status < 200:
            data = b""
        elif "chunked" in headers.get("transfer-encoding", "").lower():
            data = await self._chunked()
        elif "content-length" in headers:
            try:
                length = int(headers["content-length"])
            except ValueError:
                raise HttpError("bad Content-Length") from None
            data = await self.reader.readexactly(length) if length <= BODY_MAX else await self._skip(length)
        else:
            data, keep = await self.reader.read(BODY_MAX), False  # delimited by the close
        return status, headers, data, keep

    async def _skip(self, length):
        kept = await self.reader.readexactly(BODY_MAX)
        remaining = length - BODY_MAX
        while remaining:
            remaining -= len(await self.reader.readexactly(min(remaining, 65536)))
        return kept

    async def _chunked(self):
        data = bytearray()
        while True:
            size_line = await self.reader.readuntil(b"\r\n")
            try:
                size = int(size_line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise HttpError("bad chunk size") from None
            if size == 0:
                while (await self.reader.readuntil(b"\r\n")) != b"\r\n":  # trailers
                    pass
                return bytes(data[:BODY_MAX])
            chunk = await self.reader.readexactly(size + 2)
            if len(data) < BODY_MAX:
                data += chunk[:-2]


class ForbiddenAddress(OSError):
    """The host resolved to an address inside this network (loopback, private,
    link-local…): a push endpoint there would let anyone probe the intranet."""


def public_addresses(infos):
    """The addresses of getaddrinfo's answer that are on the public internet."""
    addresses = []
    for family, _type, _proto, _name, sockaddr in infos:
        address = ipaddress.ip_address(sockaddr[0].split("%")[0])
        if address.is_global and not address.is_multicast:
            addresses.append((family, sockaddr))
    return addresses


class AsyncHttpPool:
    """Kept-alive connections per (scheme, host, port), used from one event loop.
    Connects only to public addresses, checked after DNS resolution (a name may
    point anywhere), unless `allow_local` (the tests' fake push service)."""

    def __init__(self, timeout, max_idle=64, ssl_context=None, allow_local=False):
        self.timeout, self.max_idle = timeout, max_idle
        self._idle = {}
        self._ssl = ssl_context or ssl.create_default_context()
        self.allow_local = allow_local
        self.opened = 0

    async def _address(self, host, port):
        if self.allow_local:
            return host
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        usable = public_addresses(infos)
        if not usable:
            raise ForbiddenAddress(f"{host} resolves to no public address")
        return usable[0][1][0]

    async def _connect(self, key):
        scheme, host, port = key
        self.opened += 1
        address = await self._address(host, port)
        reader, writer = await asyncio.open_connection(
            address, port, ssl=self._ssl if scheme == "https" else None, limit=HEAD_MAX,
            server_hostname=host if scheme == "https" else None)
        return _Connection(reader, writer)

    async def post(self, url, body, headers):
        """(status, headers with lower-case names, body). Raises OSError,
        asyncio.TimeoutError, asyncio.IncompleteReadError or HttpError."""
        parts = urlsplit(url)
        scheme, host = parts.scheme, parts.hostname
        port = parts.port or (443 if scheme == "https" else 80)
        key = (scheme, host, port)
        default = (scheme == "https" and port == 443) or (scheme == "http" and port == 80)
        host_header = (f"[{host}]" if ":" in host else host) + ("" if default else f":{port}")
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        lines = [f"POST {path} HTTP/1.1", f"Host: {host_header}", f"Content-Length: {len(body)}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        async with asyncio.timeout(self.timeout):
            for attempt in range(2):
                idle = self._idle.get(key)
                reused = bool(idle)
                conn = idle.pop() if idle else await self._connect(key)
                try:
                    status, response_headers, data, keep = await conn.request(head, body)
                except (ConnectionResetError, BrokenPipeError, asyncio.IncompleteReadError) as exc:
                    conn.close()
                    partial = getattr(exc, "partial", b"")
                    if reused and attempt == 0 and not partial:
                        continue  # the service closed an idle connection: once more on a new one
                    raise
                except BaseException:
                    conn.close()
                    raise
                if keep and len(self._idle.setdefault(key, [])) < self.max_idle:
                    self._idle[key].append(conn)
                else:
                    conn.close()
                return status, response_headers, data
        raise AssertionError("unreachable")

    def close(self):
        idle, self._idle = self._idle, {}
        for conns in idle.values():
            for conn in conns:
                conn.close()


class LoopThread:
    """An event loop in a daemon thread; `run(coro)` runs a coroutine on it from
    any other thread and waits for its result."""

    def __init__(self, name="civic-push-io"):
        self.name = name
        self._lock = threading.Lock()
        self._loop = self._thread = None
        self._pid = None

    def loop(self):
        with self._lock:
            if self._loop is None or self._pid != os.getpid() or not self._thread.is_alive():
                self._loop, self._pid = asyncio.new_event_loop(), os.getpid()
                self._thread = threading.Thread(target=self._loop.run_forever, name=self.name, daemon=True)
                self._thread.start()
            return self._loop

    def run(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, self.loop()).result()

    def stop(self, cleanup=None):
        with self._lock:
            loop, thread, self._loop = self._loop, self._thread, None
        if loop is None or self._pid != os.getpid():
            return
        if cleanup is not None and thread.is_alive():
            asyncio.run_coroutine_threadsafe(cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
