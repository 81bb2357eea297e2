"""civic/transaction.py: one commit point per write request (issue 18, item 1)."""
import pytest
from flask import abort
from sqlalchemy import func, select

import civic.models  # noqa: F401  (every model, for the relationships between them)
from civic import transaction
from civic.accounts.models import User
from civic.extensions import db
from tests.conftest import PASSWORD_HASH


def new_user(name):
    user = User(username=name, role="resident", display_name=name, password_hash=PASSWORD_HASH)
    db.session.add(user)
    db.session.flush()
    return user


def users():
    db.session.remove()
    return set(db.session.scalars(select(User.username)))


def test_a_command_commits_once_it_answers_and_runs_what_waits_for_the_commit(app):
    ran = []

    @transaction.command
    def view():
        new_user("kept")
        transaction.after_commit(lambda: ran.append("texted"))
        return "ok", 201

    with app.test_request_context(method="POST"):
        assert view().status_code == 201
    assert "kept" in users() and ran == ["texted"]


def test_an_error_answer_or_a_raise_keeps_nothing_and_undoes_what_it_must(app):
    undone = []

    @transaction.command
    def refused():
        new_user("refused")
        transaction.on_failure(lambda: undone.append("files removed"))
        transaction.after_commit(lambda: undone.append("never texted"))
        return "no", 422

    @transaction.command
    def raising():
        new_user("raised")
        abort(409)

    with app.test_request_context(method="POST"):
        assert refused().status_code == 422
        with pytest.raises(Exception):
            raising()
    assert not {"refused", "raised"} & users() and undone == ["files removed"]


def test_a_refusal_keeps_what_a_service_said_to_keep(app):
    @transaction.command
    def wrong_code():
        new_user("counted try")
        transaction.keep_changes()
        return "wrong code", 422

    with app.test_request_context(method="POST"):
        assert wrong_code().status_code == 422
    assert "counted try" in users()


def test_create_or_replay_makes_the_row_once_and_replays_a_twin(app):
    undone = []

    def find():
        return db.session.scalar(select(User).where(User.username == "twin"))

    def create():
        transaction.on_failure(lambda: undone.append("the losing attempt's files"))
        return "created", new_user("twin")

    def replay(row):
        return "replayed", row

    with app.app_context():
        with transaction.unit_of_work():
            assert transaction.create_or_replay(find, create, replay)[0] == "created"
        # A concurrent twin: it did not see the row when it looked, and its insert hits the unique key.
        with transaction.unit_of_work():
            outcome, row = transaction.create_or_replay(find, create, replay)
        assert outcome == "replayed" and row.username == "twin"
        assert undone == ["the losing attempt's files"]
        assert db.session.scalar(select(func.count()).select_from(User).where(User.username == "twin")) == 1
