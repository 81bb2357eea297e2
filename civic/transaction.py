"""Where a transaction ends: one commit point per write request.

A write view is a command (`@command`): it calls services, which add and flush
but never commit, and the command commits once when the view has answered
without an error (status below 400), or rolls back. What must happen only once
the data is safe (texting a code, handing deliveries to a runner) is registered
with `after_commit`; what must be undone when the data is not kept (photo files
already written) with `on_failure`.

A refusal may have to keep what was done before it: a wrong one-time code's try
stays counted, a code issued for a second factor stays issued. The service says
so with `keep_changes()`; the command then commits even though it answers with
an error.

`create_or_replay` is the idempotent insert of a concurrent twin: insert; on the
unique key's IntegrityError, read the row that won and replay it. (The caller has
looked for the client's id first, before its costly steps: a phone's retry.)
"""
from contextlib import contextmanager
from functools import wraps

from flask import make_response
from sqlalchemy.exc import IntegrityError

from .errors import rollback_quietly
from .extensions import db

AFTER_COMMIT = "civic.after_commit"
ON_FAILURE = "civic.on_failure"
KEEP = "civic.keep_changes"


def keep_changes():
    """Commit what this unit of work has done even if it ends in a refusal."""
    db.session.info[KEEP] = True


def after_commit(callback):
    """Run `callback()` once the current unit of work has committed."""
    db.session.info.setdefault(AFTER_COMMIT, []).append(callback)


def on_failure(callback, *, unless_commit_failed=False):
    """Run `callback()` if the current unit of work does not commit. With
    `unless_commit_failed`, not when the COMMIT itself failed: then the outcome is
    unknown (the connection may have died after the database committed), and what
    the callback would undo may be the committed data's (photo files: `flask photos
    gc` removes strays later)."""
    db.session.info.setdefault(ON_FAILURE, []).append((callback, unless_commit_failed))


def _forget():
    db.session.info.pop(AFTER_COMMIT, None)
    db.session.info.pop(KEEP, None)
    return db.session.info.pop(ON_FAILURE, None) or []


def _fail(*, commit_failed):
    cleanups = _forget()
    rollback_quietly()
    for callback, unless_commit_failed in cleanups:
        if not (commit_failed and unless_commit_failed):
            callback()


def commit():
    """Commit the unit of work, then run its after-commit callbacks."""
    try:
        db.session.commit()
    except BaseException:
        _fail(commit_failed=True)
        raise
    callbacks = db.session.info.get(AFTER_COMMIT) or []
    _forget()
    for callback in callbacks:
        callback()


def rollback():
    """End the unit of work without its changes, unless a service said to keep them."""
    if db.session.info.get(KEEP):
        commit()
    else:
        _fail(commit_failed=False)


@contextmanager
def unit_of_work():
    """Commit when the block ends normally; roll back (and run the failure
    cleanups) when it raises, unless a service said to keep the changes."""
    try:
        yield
    except BaseException:
        rollback()
        raise
    commit()


def command(view):
    """A write view as one unit of work: committed when it answers below 400."""
    @wraps(view)
    def run(*args, **kwargs):
        with unit_of_work():
            response = make_response(view(*args, **kwargs))
            if response.status_code >= 400:
                rollback()
        return response
    return run


def create_or_replay(find, create, replay, *, conflicts=(IntegrityError,)):
    """`create()` → the new row's answer, its rows added and flushed here; `find()` →
    the row of the client's id or None; `replay(row)` → the answer to a retry (or a
    409 when the retry differs). If a concurrent twin won the client id (the unique key's
    IntegrityError, or for a workflow action the 409 of a status the twin already
    moved), the unit of work is rolled back (its cleanups run: the photo files this
    attempt wrote) and the twin's row is replayed. The whole unit, not a SAVEPOINT:
    the insert is the command's first write, and SQLite's driver lets a SAVEPOINT
    that opens the transaction commit it on release."""
    try:
        made = create()
        db.session.flush()
        return made
    except conflicts:
        rollback()
        existing = find()
        if existing is None:
            raise
        return replay(existing)
