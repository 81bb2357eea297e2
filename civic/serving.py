"""What the production server (gunicorn's gevent worker, gunicorn.conf.py) puts
between a connection and the app: the request's body is read in full first, and
only then does the request take one of a few slots to run the app in.

Why both. Under gevent a slow client costs a greenlet, not a thread, so a dozen
phones on one bar of signal (or a slow-loris attack) cannot stop the service.
But a greenlet per connection would also let hundreds of requests into the app
at once, each holding a database connection while it waits for another (the
abuse-limit counters write on a connection of their own): the pool runs dry and
every request waits for its timeout. The slots bound the app's concurrency as a
thread pool would; reading the body before taking a slot keeps a slow upload
from holding one, as nginx's request buffering does in front of a thread pool.
"""
import shutil
import tempfile
import threading

from werkzeug.http import parse_options_header

# Bodies up to this size stay in memory while they are read; larger ones (photo
# uploads) spill to a temporary file.
IN_MEMORY_BYTES = 1024 * 1024


def largest_body(mimetype, config):
    """The most a request body may hold: only a multipart upload may carry photos
    (MAX_CONTENT_LENGTH); a JSON or form body has the small limit."""
    return config["MAX_CONTENT_LENGTH"] if mimetype == "multipart/form-data" else config["MAX_BODY_BYTES"]


class BufferedRequests:
    def __init__(self, app, slots, config):
        self.app = app
        self.config = config
        self._slots = threading.BoundedSemaphore(slots)  # gevent's, once gevent has patched threading

    def __call__(self, environ, start_response):
        self._read_body_first(environ)
        with self._slots:
            return self.app(environ, start_response)

    def _read_body_first(self, environ):
        declared = environ.get("CONTENT_LENGTH") or ""
        if declared in ("", "0") and "chunked" not in environ.get("HTTP_TRANSFER_ENCODING", "").lower():
            return  # no body
        limit = largest_body(parse_options_header(environ.get("CONTENT_TYPE", ""))[0], self.config)
        if declared.isdigit() and int(declared) > limit:
            return  # the app refuses it with 413 without reading it
        buffered = tempfile.SpooledTemporaryFile(max_size=IN_MEMORY_BYTES)
        # At most one byte past the limit: enough for the app to see it is too large.
        shutil.copyfileobj(_Limited(environ["wsgi.input"], limit + 1), buffered)
        buffered.seek(0)
        environ["wsgi.input"] = buffered


class _Limited:
    """A reader that ends after `limit` bytes of the stream it wraps."""

    def __init__(self, stream, limit):
        self.stream, self.left = stream, limit

    def read(self, size=-1):
        if self.left <= 0:
            return b""
        size = self.left if size is None or size < 0 else min(size, self.left)
        chunk = self.stream.read(size)
        self.left -= len(chunk)
        return chunk
