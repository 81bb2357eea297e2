"""One error shape for the JSON API, and content-negotiated error pages.

Every API error is `{"error": {"code", "message", "field"}}` with a 4xx status;
an unexpected exception is logged, rolled back and still answered in that shape.
An error may carry more keys in the same object (`extra`), such as the case as it
is now when a task action was refused: `{"error": {"code", "message", "field", "case"}}`.
"""
from flask import current_app, jsonify, make_response, render_template, request
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, SQLAlchemyError
from werkzeug.exceptions import HTTPException

from .extensions import db

# Seconds a client is asked to wait while the database is away (a restart or a failover takes a few).
DATABASE_RETRY_AFTER = 5


class ApiError(Exception):
    def __init__(self, status, code, message, field=None, extra=None):
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field
        self.extra = dict(extra or {})

    def to_dict(self):
        error = dict(self.extra)
        error.update(code=self.code, message=self.message, field=self.field)  # the three keys always win
        return {"error": error}

    def to_response(self):
        return jsonify(self.to_dict()), self.status


def wants_json():
    if request.path.startswith(("/api/", "/open311/")):
        return True
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]


HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "too_many_requests",
}


def too_large_message():
    if request.mimetype == "multipart/form-data":
        return f"The upload is too large (at most {current_app.config['PHOTO_MAX_BYTES'] // 2**20} MB a photo)."
    return f"The request is too large (at most {current_app.config['MAX_BODY_BYTES'] // 1024} KB without photos)."


def http_error(exc):
    if request.path.startswith("/open311/"):
        from .open311.formats import http_error as open311_error

        return open311_error(exc)
    if not wants_json():
        if exc.code == 401:
            return exc  # the login manager's redirect handles pages
        return render_template("error.html", error=exc), exc.code
    message = exc.description or exc.name
    if exc.code == 413:
        message = too_large_message()
    return ApiError(exc.code, HTTP_CODES.get(exc.code, "error"), message).to_response()


def rollback_quietly():
    """Roll back; if the connection is dead, drop it instead (a ROLLBACK on a
    closed connection raises, and an error page must not fail in turn)."""
    try:
        db.session.rollback()
    except SQLAlchemyError:
        db.session().invalidate()


def close_session_quietly(exc=None):
    """teardown_appcontext: remove the session as Flask-SQLAlchemy does, without
    letting a dead connection's failed ROLLBACK turn the answer (perhaps a 201)
    into the server's bare HTML 500."""
    try:
        db.session.remove()
    except SQLAlchemyError:
        current_app.logger.warning("the database connection broke while the session was closed; dropped it")
        try:
            db.session().invalidate()
        finally:
            db.session.registry.clear()


def database_unavailable(exc):
    """The database cannot be reached (restarting, failing over, refusing
    connections): 503 with Retry-After, which the field app's outbox and other
    clients retry; nothing was saved. Other database errors are unexpected."""
    if not (isinstance(exc, (OperationalError, InterfaceError)) or exc.connection_invalidated):
        return _unexpected(exc)
    rollback_quietly()
    reason = (str(exc.orig or exc).strip().splitlines() or ["?"])[0]
    current_app.logger.warning("Database unavailable on %s %s: %s", request.method, request.path, reason)
    response = make_response(_server_error(
        503, "database_unavailable",
        "The database is not reachable right now; nothing was saved. Please retry in a moment.",
        "unavailable.html"))  # a page that reads nothing from the database
    response.headers["Retry-After"] = str(DATABASE_RETRY_AFTER)
    return response


def _unexpected(exc):
    rollback_quietly()
    current_app.logger.exception("Unhandled error on %s %s", request.method, request.path)
    return _server_error(500, "server_error", "Something went wrong on the server; nothing was saved. Please retry.",
                         "error.html", error=None)


def _server_error(status, code, message, template, **context):
    """A 5xx in the shape the client reads: Open311's error list (JSON or XML), the
    API's error object, or the page `template` renders."""
    if request.path.startswith("/open311/"):
        from .open311.formats import errors, requested_format

        return errors(requested_format(), status, message)
    if wants_json():
        return ApiError(status, code, message).to_response()
    return render_template(template, **context), status


def register_error_handlers(app):
    app.register_error_handler(ApiError, lambda e: e.to_response())
    app.before_request(_refuse_nul_in_query)
    app.register_error_handler(HTTPException, http_error)
    app.register_error_handler(DBAPIError, database_unavailable)
    app.register_error_handler(Exception, _unexpected)
    # Registered after Flask-SQLAlchemy's, so it runs first (teardowns run in reverse).
    app.teardown_appcontext(close_session_quietly)


def _refuse_nul_in_query():
    """A NUL character in the path or the query string is never typed by a
    person: PostgreSQL refuses it in text (a 500 if it reached a query), so every
    route answers 400 instead. Forms and JSON fields are checked by their own
    readers, which name the field and keep what was typed."""
    from flask import abort, request

    if "\x00" in request.path:
        abort(404)  # no case, photo, poster or request is named with a NUL
    if "\x00" in request.query_string.decode("latin-1") or any("\x00" in v for v in request.args.values()):
        abort(400)
