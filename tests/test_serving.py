"""civic/serving.py: the gevent worker reads each body before the app runs, and
lets only a few requests run the app at once (issue 17, item 11)."""
import io
import threading

from civic.serving import BufferedRequests

CONFIG = {"MAX_CONTENT_LENGTH": 1000, "MAX_BODY_BYTES": 100}


class Input(io.BytesIO):
    """wsgi.input that counts what was read from it."""


def call(body=b"", **environ):
    seen = {}

    def app(env, start_response):
        seen["body"] = env["wsgi.input"].read()
        start_response("200 OK", [])
        return [b"ok"]

    stream = Input(body)
    env = {"wsgi.input": stream, **environ}
    middleware = BufferedRequests(app, slots=2, config=CONFIG)
    middleware(env, lambda status, headers: None)
    return seen["body"], stream


def test_a_body_is_read_in_full_before_the_app_runs():
    body, stream = call(b'{"a": 1}', CONTENT_LENGTH="8", CONTENT_TYPE="application/json")
    assert body == b'{"a": 1}' and stream.tell() == 8


def test_a_chunked_body_is_read_up_to_one_byte_past_its_limit():
    body, stream = call(b"x" * 500, HTTP_TRANSFER_ENCODING="chunked", CONTENT_TYPE="application/json")
    assert len(body) == 101  # the app sees it is too large and answers 413


def test_a_declared_body_over_the_limit_is_left_for_the_app_to_refuse():
    body, stream = call(b"x" * 500, CONTENT_LENGTH="500", CONTENT_TYPE="application/json")
    assert stream.tell() == 500 and len(body) == 500  # read by the app, not the buffer (werkzeug refuses it)


def test_photos_have_the_large_limit():
    body, _stream = call(b"x" * 900, CONTENT_LENGTH="900",
                         CONTENT_TYPE="multipart/form-data; boundary=abc")
    assert len(body) == 900


def test_no_more_requests_run_the_app_than_there_are_slots():
    running, most, lock, release = [0], [0], threading.Lock(), threading.Event()

    def app(env, start_response):
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        release.wait(0.2)
        with lock:
            running[0] -= 1
        return [b""]

    middleware = BufferedRequests(app, slots=2, config=CONFIG)
    threads = [threading.Thread(target=middleware, args=({"wsgi.input": io.BytesIO()}, None)) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert most[0] == 2
