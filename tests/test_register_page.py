"""The site's register page (/auth/register): plain forms, no JavaScript."""
import re

from sqlalchemy import select

from civic.accounts.models import OneTimeCode, User
from civic.extensions import db
from civic.push.jobs import push_state

PHONE = "13700001111"


def texted_code(app):
    return re.search(r"验证码 (\d{6})", push_state(app).sms.sent[-1][1]).group(1)


def test_the_login_page_links_to_registering(client):
    page = client.get("/auth/login").get_data(as_text=True)
    assert "用户名或手机号" in page and 'href="/auth/register"' in page and "用手机号注册" in page


def test_the_register_page_sends_the_code_with_a_plain_form_post(client):
    page = client.get("/auth/register").get_data(as_text=True)
    assert 'formaction="/auth/register/code"' in page and 'name="phone"' in page and 'name="code"' in page
    assert 'autocomplete="one-time-code"' in page and "获取验证码" in page


def test_register_on_the_site(app, client, county):
    sent = client.post("/auth/register/code", data={"phone": "137 0000 1111"})
    assert sent.status_code == 200
    page = sent.get_data(as_text=True)
    assert "短信已发送至 137****1111" in page and f'value="{PHONE}"' in page and "重新发送验证码" in page
    done = client.post("/auth/register", data={"phone": PHONE, "code": texted_code(app), "password": "a-long-password",
                                               "display_name": "老王"})
    assert done.status_code == 302 and done.headers["Location"].endswith("/")
    user = db.session.scalar(select(User).where(User.phone == PHONE))
    assert (user.role, user.username, user.display_name) == ("resident", PHONE, "老王")
    assert client.get("/").status_code == 200  # logged in
    assert client.get("/auth/register").status_code == 302


def test_refusals_are_shown_next_to_the_field_and_keep_what_was_typed(app, client, county):
    bad_phone = client.post("/auth/register/code", data={"phone": "12345"})
    assert bad_phone.status_code == 422 and "请输入中国大陆手机号" in bad_phone.get_data(as_text=True)
    client.post("/auth/register/code", data={"phone": PHONE})
    code = texted_code(app)
    wrong = client.post("/auth/register", data={"phone": PHONE, "code": "000000" if code != "000000" else "111111",
                                                "password": "a-long-password", "display_name": "老王"})
    page = wrong.get_data(as_text=True)
    assert wrong.status_code == 422 and "验证码错误，还可尝试 4 次" in page and 'value="老王"' in page
    assert 'aria-invalid="true" aria-describedby="code-error"' in page
    assert db.session.scalar(select(OneTimeCode.attempts)) == 1
    short = client.post("/auth/register", data={"phone": PHONE, "code": code, "password": "short"})
    assert short.status_code == 422 and "密码至少需要 8 位" in short.get_data(as_text=True)
    assert db.session.scalar(select(User).where(User.phone == PHONE)) is None


def test_the_page_is_in_english_too(client):
    page = client.get("/auth/register?lang=en").get_data(as_text=True)
    assert "Register with your phone" in page and "Send code" in page
