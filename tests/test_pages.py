"""Pages: login, home, the case page, languages, and no outside assets."""
import re

from tests.conftest import PASSWORD, new_meta, photo_path, point_in


def login(client, username):
    return client.post("/auth/login", data={"username": username, "password": PASSWORD})


def test_login_logout(client, county):
    assert client.get("/").status_code == 302
    page = client.get("/auth/login").get_data(as_text=True)
    assert "登录" in page and 'lang="zh-CN"' in page
    bad = login(client, "nobody")
    assert bad.status_code == 401 and "用户名或密码错误" in bad.get_data(as_text=True)
    assert login(client, "worker").status_code == 302
    assert client.get("/").status_code == 200
    client.post("/auth/logout")
    assert client.get("/").status_code == 302


def test_login_never_redirects_off_site(client, county):
    response = client.post("/auth/login?next=https://evil.example/", data={"username": "worker", "password": PASSWORD})
    assert response.headers["Location"] == "/"
    response = client.post("/auth/login?next=//evil.example/", data={"username": "worker", "password": PASSWORD})
    assert response.headers["Location"] == "/"


def test_english_switch(client, county):
    client.get("/auth/lang/en")
    page = client.get("/auth/login").get_data(as_text=True)
    assert "Log in" in page and 'lang="en"' in page


def test_case_page_shows_photos_map_and_timeline(client, county, api_as):
    lat, lng = point_in("L2-1-1")
    body = api_as(county.worker).post_report(new_meta(lat=lat, lng=lng, description="垃圾堆在路口"),
                                             [photo_path("plain/no_exif.jpg")]).json
    login(client, "worker")
    page = client.get(f"/cases/{body['ref']}").get_data(as_text=True)
    assert body["ref"] in page and "垃圾堆在路口" in page
    assert body["photos"][0]["thumb_url"] in page
    assert "<svg" in page and 'class="pin"' in page and "网格1-1" in page
    assert "办理进度" in page and "已上报" in page
    home = client.get("/").get_data(as_text=True)
    assert body["ref"] in home


def test_pages_load_nothing_from_other_hosts(client, county):
    login(client, "worker")
    for url in ("/", "/auth/login"):
        page = client.get(url).get_data(as_text=True)
        assert not re.search(r'(src|href)="(https?:)?//', page)
    assert "default-src 'self'" in client.get("/").headers["Content-Security-Policy"]


def test_service_worker_served_from_root_uncached(client):
    response = client.get("/sw.js")
    assert response.status_code == 200 and response.mimetype == "text/javascript"
    assert response.headers["Cache-Control"] == "no-cache"


def test_unknown_page_is_a_friendly_404(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404 and "未找到" in response.get_data(as_text=True)
