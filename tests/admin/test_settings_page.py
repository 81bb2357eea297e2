"""The settings page: what matters at a glance, a warning where a setting is wrong
for production, and never a secret."""
import os

import pytest

from civic.admin import settings_check
from tests.admin.test_pages import login

SECRETS = {"REDIS_URL": "redis://:hunter2redis@redis.internal:6379/0", "SECRET_KEY": "s3cr3t-key-value-xyz"}


def test_the_page_warns_and_shows_no_secret(app, client, county):
    app.config.update(SECRETS, PUBLIC_BASE_URL="http://127.0.0.1:5000", SMS_SENDER="console", RATELIMIT_STORAGE_URI=None,
                      SESSION_COOKIE_SECURE=False)
    login(client, "admin")
    response = client.get("/admin/settings")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    for name in ("PUBLIC_BASE_URL", "SMS_SENDER", "VAPID keys", "REDIS_URL", "PHOTO_DIR", "DATABASE_URL",
                 "CIVIC_SECURE_COOKIES"):
        assert name in page
    assert "Points at this computer" in page and "Demo sender" in page and "CIVIC_SECURE_COOKIES=1" in page
    assert "hunter2redis" not in page and "s3cr3t-key-value-xyz" not in page and "redis.internal" in page
    password = app.config["SQLALCHEMY_DATABASE_URI"].partition("://")[2].partition("@")[0].partition(":")[2]
    if password:
        assert password not in page


@pytest.mark.parametrize("url, ok, said", [
    ("https://grid.example.gov.cn", True, None),
    ("http://grid.example.gov.cn", False, "http:// on a public host"),
    ("http://192.168.1.20:8000", True, None),   # a county's own network
    ("", False, "Not set"),
])
def test_public_base_url(url, ok, said):
    setting = settings_check.public_base_url({"PUBLIC_BASE_URL": url})
    assert setting.ok is ok and (said is None or said in str(setting.advice))


def test_each_check(tmp_path):
    assert not settings_check.database({"SQLALCHEMY_DATABASE_URI": "sqlite:///x.sqlite"}).ok
    pg = settings_check.database({"SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://civic:pw123@db/civic"})
    assert pg.ok and "pw123" not in pg.value and "***" in pg.value
    assert not settings_check.redis({"REDIS_URL": None}).ok
    assert not settings_check.redis({"REDIS_URL": "redis://r", "RATELIMIT_STORAGE_URI": "memory://"}).ok
    assert settings_check.redis({"REDIS_URL": "redis://r"}).ok
    assert not settings_check.sms_sender({"SMS_SENDER": "log"}).ok
    assert settings_check.sms_sender({"SMS_SENDER": "county.sms:Gateway"}).ok
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    assert settings_check.photo_storage({"PHOTO_DIR": str(tmp_path)}).ok
    if os.geteuid() != 0:  # root may write anywhere
        assert not settings_check.photo_storage({"PHOTO_DIR": str(locked / "photos")}).ok
    assert not settings_check.photo_storage({"PHOTO_STORAGE": "s3", "S3_BUCKET": None}).ok
    assert not settings_check.push_keys({}, tmp_path).ok
    assert settings_check.secure_cookies({"SESSION_COOKIE_SECURE": True, "REMEMBER_COOKIE_SECURE": True}).ok


def test_the_command(runner, app):
    app.config.update(SECRETS)
    result = runner.invoke(args=["settings-check"])
    assert result.exit_code == 0 and "WARN PUBLIC_BASE_URL" in result.output
    assert "hunter2redis" not in result.output and "s3cr3t" not in result.output
    assert runner.invoke(args=["settings-check", "--strict"]).exit_code == 1
