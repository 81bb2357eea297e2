"""One-time codes (civic/accounts/codes.py), as services: time is passed in."""
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from civic.accounts import codes
from civic.accounts.models import OneTimeCode
from civic.errors import ApiError
from civic.extensions import db
from civic.timeutil import utcnow

SECRET = "test"
PHONE = "13700001111"


def issue(phone=PHONE, purpose="register", now=None, code="123456"):
    text = codes.issue_code(phone, purpose, secret=SECRET, now=now, make_code=lambda: code)
    db.session.commit()
    return text


def check(code, phone=PHONE, purpose="register", now=None):
    try:
        return codes.check_code(phone, purpose, code, secret=SECRET, now=now)
    finally:
        db.session.commit()  # as the views do: a refused try stays counted


def refused(code, **kw):
    with pytest.raises(ApiError) as caught:
        check(code, **kw)
    assert caught.value.status == 422 and caught.value.field == "code"
    return caught.value


@pytest.mark.parametrize("raw, phone", [("13700001111", "13700001111"), (" 137 0000-1111 ", "13700001111"),
                                        ("+8619912345678", "19912345678")])
def test_mainland_mobile_numbers_are_accepted(raw, phone):
    assert codes.parse_phone(raw) == phone


@pytest.mark.parametrize("raw", ["12700001111", "1370000111", "137000011112", "010-12345678", "", None, 13700001111,
                                 "1370000111x"])
def test_anything_else_is_a_422_on_phone(raw):
    with pytest.raises(ApiError) as caught:
        codes.parse_phone(raw)
    assert (caught.value.status, caught.value.field) == (422, "phone")


def test_a_code_is_texted_stored_only_as_a_keyed_hash_and_used_once(app, county):
    text = issue()
    assert text == "【网格通】验证码 123456，5分钟内有效。请勿告诉他人。"
    record = db.session.scalar(select(OneTimeCode))
    assert "123456" not in record.code_hash and len(record.code_hash) == 64
    assert record.code_hash != codes._digest("another-secret", PHONE, "register", "123456")
    assert record.expires_at - record.created_at == timedelta(minutes=5)
    assert check("123456").id == record.id
    assert refused("123456").code == "code_expired"  # used once


def test_a_wrong_code_counts_a_try_and_says_how_many_are_left(app, county):
    issue()
    error = refused("654321")
    assert error.code == "invalid_code" and error.extra["tries_left"] == 4
    assert db.session.scalar(select(OneTimeCode.attempts)) == 1
    assert check("123456") is not None  # the right one still works


def test_after_five_wrong_tries_even_the_right_code_is_refused(app, county):
    issue()
    for _ in range(4):
        assert refused("000000").code == "invalid_code"
    assert refused("000000").code == "code_attempts_exhausted"
    assert refused("123456").code == "code_attempts_exhausted"
    assert db.session.scalar(select(OneTimeCode.attempts)) == 5


def test_a_code_expires_after_five_minutes(app, county):
    now = utcnow()
    issue(now=now)
    assert refused("123456", now=now + timedelta(minutes=5, seconds=1)).code == "code_expired"
    assert check("123456", now=now + timedelta(minutes=4, seconds=59)) is not None


def test_a_new_code_supersedes_the_older_one(app, county):
    now = utcnow()
    issue(code="111111", now=now)
    issue(code="222222", now=now + timedelta(seconds=61))
    assert refused("111111", now=now + timedelta(seconds=62)).code == "invalid_code"
    assert check("222222", now=now + timedelta(seconds=63)) is not None


def test_a_code_is_for_one_purpose_and_one_phone(app, county):
    issue(purpose="register")
    assert refused("123456", purpose="reset").code == "code_expired"
    assert refused("123456", phone="13700002222").code == "code_expired"


def test_letters_or_nothing_are_not_a_try(app, county):
    issue()
    assert refused("abc").code == "invalid_code" and refused(None).code == "invalid_code"
    assert db.session.scalar(select(OneTimeCode.attempts)) == 0


def test_a_registered_phone_gets_a_text_saying_so_and_no_code(app, county):
    text = issue(phone=county.resident.phone, purpose="register")
    assert "已注册" in text and "验证码" not in text
    assert db.session.scalar(select(func.count()).select_from(OneTimeCode)) == 0


def test_reset_texts_a_code_to_residents_only(app, county):
    assert "尚未注册" in issue(phone="13700009999", purpose="reset")
    assert "管理员" in issue(phone=county.worker.phone, purpose="reset")
    assert db.session.scalar(select(func.count()).select_from(OneTimeCode)) == 0
    assert "验证码 123456" in issue(phone=county.resident.phone, purpose="reset")


def test_day_old_codes_are_cleared_when_a_new_one_is_made(app, county):
    now = utcnow()
    issue(phone="13700002222", now=now - timedelta(days=2))
    issue(now=now)
    assert db.session.scalars(select(OneTimeCode.phone)).all() == [PHONE]
