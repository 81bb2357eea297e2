"""The field app's shell, manifest and service worker as the server serves them."""
import json
import re

from tests.conftest import ROOT

STATIC = ROOT / "civic" / "static"


def sw_source(client):
    response = client.get("/sw.js")
    assert response.status_code == 200
    return response


def shell_list(source):
    block = re.search(r"const SHELL = \[(.*?)\];", source, re.S).group(1)
    return re.findall(r'"([^"]+)"', block)


def test_manifest_is_installable(client):
    response = client.get("/manifest.webmanifest")
    assert response.status_code == 200
    assert response.mimetype == "application/manifest+json"
    manifest = json.loads(response.data)
    assert manifest["short_name"] == "网格通" and "网格" in manifest["name"]
    assert manifest["display"] == "standalone" and manifest["start_url"] == "/field/"
    sizes = {(icon["sizes"], icon["purpose"]) for icon in manifest["icons"]}
    assert {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")} <= sizes
    for icon in manifest["icons"]:
        assert client.get(icon["src"]).status_code == 200


def test_service_worker_carries_the_shell_version_and_is_not_cached(client):
    response = sw_source(client)
    source = response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-cache"
    assert response.mimetype == "text/javascript"
    version = re.search(r'const VERSION = "([0-9a-f]{12})"', source).group(1)
    shell = client.get("/field/").get_data(as_text=True)
    assert f'<meta name="app-version" content="{version}">' in shell


def test_the_shell_lists_every_module_and_asset_it_needs(client):
    listed = set(shell_list(sw_source(client).get_data(as_text=True)))
    modules = {f"/static/{p.relative_to(STATIC).as_posix()}" for p in (STATIC / "js").rglob("*.js")}
    assert modules <= listed, f"missing from the shell: {sorted(modules - listed)}"
    for url in listed:
        assert client.get(url).status_code == 200, url


def test_the_precache_list_comes_from_the_server(client):
    """One list (devices/shell.py) for what the worker caches and what the shell's
    version is hashed from: sw.js keeps none by hand (issue 18, item 9)."""
    from civic.devices.shell import _shell_files

    raw = (STATIC / "sw.js").read_text()
    assert 'const SHELL = ["__SHELL_FILES__"];' in raw and "/static/js/app.js" not in raw
    listed = set(shell_list(sw_source(client).get_data(as_text=True)))
    shell = client.get("/field/").get_data(as_text=True)
    referenced = set(re.findall(r'(?:src|href)="(/static/[^"?#]+)', shell))
    assert referenced and referenced <= listed, sorted(referenced - listed)
    hashed = {f"/static/{p.relative_to(STATIC).as_posix()}" for p in _shell_files(client.application)
              if STATIC in p.parents}
    assert {url for url in listed if url.startswith("/static/")} <= hashed


def test_the_shell_holds_no_user_data(client, county, api_as):
    client.post("/auth/login", data={"username": "worker", "password": "pw-for-tests"})
    page = client.get("/field/").get_data(as_text=True)
    assert "worker" not in page and "csrf" not in page.lower()


def test_every_string_in_the_app_has_chinese():
    i18n = (STATIC / "js" / "i18n.js").read_text()
    table = set(re.findall(r'"((?:[^"\\]|\\.)+)":\s*"', i18n))
    used = set()
    for path in (STATIC / "js").rglob("*.js"):
        used |= set(re.findall(r'\bt\("((?:[^"\\]|\\.)+)"', path.read_text()))
    labels = (STATIC / "js" / "labels.js").read_text()
    used |= set(re.findall(r':\s*"([A-Z][^"]+)"', labels))
    shell = (ROOT / "civic" / "templates" / "field" / "shell.html").read_text()
    used |= set(re.findall(r'data-i18n="([^"]+)"', shell))
    assert used - table == set()


def test_no_front_end_asset_comes_from_another_host():
    pattern = re.compile(r"""(?:src|href)\s*=\s*["']https?://|import\s.*from\s+["']https?://""")
    for path in list((STATIC / "js").rglob("*.js")) + [STATIC / "sw.js", ROOT / "civic/templates/field/shell.html"]:
        assert not pattern.search(path.read_text()), path


def test_a_configured_tile_server_may_serve_map_images(database_urls, backend, tmp_path):
    from tests.conftest import _make_app

    urls, _ = database_urls
    app = _make_app(urls[backend], tmp_path / "photos", MAP_TILE_URL="https://{s}.tiles.example.cn/{z}/{x}/{y}.png")
    policy = app.test_client().get("/field/").headers["Content-Security-Policy"]
    assert "img-src 'self' data: blob: https://*.tiles.example.cn;" in policy
    assert "script-src 'self';" in policy
