"""The grid workers' installable app: its shell page, web app manifest and
service worker. The shell is static (no user data), so the service worker can
cache it; the app reads everything else from the JSON API."""
import hashlib
from pathlib import Path

from flask import Blueprint, Response, current_app, jsonify, render_template, url_for

bp = Blueprint("field", __name__)

# What goes into the shell's version: a change to any of these files makes a
# new service worker, which brings the new shell.
SHELL_DIRS = ("js", "css", "vendor", "icons")
_version_cache = {}


def _shell_files(app):
    static = Path(app.static_folder)
    files = [static / "sw.js", Path(app.root_path) / "templates" / "field" / "shell.html"]
    for folder in SHELL_DIRS:
        files.extend(sorted(p for p in (static / folder).rglob("*") if p.is_file()))
    return files


def shell_version(app):
    """A short hash of the shell's files; computed once per process (and again
    when a file changes in debug mode)."""
    files = _shell_files(app)
    stamp = tuple(p.stat().st_mtime_ns for p in files) if app.debug else None
    key = (app.static_folder, stamp, app.config["RELEASE"])
    if key not in _version_cache:
        digest = hashlib.sha256(key[2].encode())
        for path in files:
            digest.update(str(path.relative_to(app.root_path)).encode())
            digest.update(path.read_bytes())
        _version_cache[key] = digest.hexdigest()[:12]
    return _version_cache[key]


@bp.get("/field/")
def shell():
    response = Response(render_template("field/shell.html", app_version=shell_version(current_app)))
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/manifest.webmanifest")
def manifest():
    icon = lambda name: url_for("static", filename=f"icons/{name}")  # noqa: E731
    data = {
        "name": "网格通 · 网格员",
        "short_name": "网格通",
        "description": "网格化城市管理：随手拍上报、任务处置、离线可用",
        "lang": "zh-CN",
        "id": "/field/",
        "start_url": "/field/",
        "scope": "/",
        "display": "standalone",
        "orientation": "portrait",
        "background_color": "#f4f7f5",
        "theme_color": "#0b6e4f",
        "categories": ["productivity", "utilities"],
        "icons": [
            {"src": icon("icon-192.png"), "sizes": "192x192", "type": "image/png", "purpose": "any"},
            {"src": icon("icon-512.png"), "sizes": "512x512", "type": "image/png", "purpose": "any"},
            {"src": icon("maskable-192.png"), "sizes": "192x192", "type": "image/png", "purpose": "maskable"},
            {"src": icon("maskable-512.png"), "sizes": "512x512", "type": "image/png", "purpose": "maskable"},
        ],
        "shortcuts": [
            {"name": "上报问题", "short_name": "上报", "url": "/field/#/capture",
             "icons": [{"src": icon("icon-192.png"), "sizes": "192x192", "type": "image/png"}]},
            {"name": "我的任务", "short_name": "任务", "url": "/field/#/tasks",
             "icons": [{"src": icon("icon-192.png"), "sizes": "192x192", "type": "image/png"}]},
        ],
    }
    response = jsonify(data)
    response.mimetype = "application/manifest+json"
    return response


@bp.get("/sw.js")
def service_worker():
    # Served from the root so its scope is the whole app, and never cached by
    # HTTP, so the browser sees a new version at the next check.
    source = (Path(current_app.static_folder) / "sw.js").read_text(encoding="utf-8")
    response = Response(source.replace("__SHELL_VERSION__", shell_version(current_app)), mimetype="text/javascript")
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Service-Worker-Allowed"] = "/"
    return response
