"""The grid workers' installable app: its shell page, web app manifest and
service worker. The shell is static (no user data), so the service worker can
cache it; the app reads everything else from the JSON API."""
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from flask import Blueprint, Response, current_app, jsonify, render_template, url_for

bp = Blueprint("field", __name__)

# The app shell: what the service worker caches at install, so the app opens with
# no signal, and what its version is hashed from (with sw.js and the shell page),
# so a change to any of them makes a new service worker that brings the new shell.
# One list: the worker is given it by service_worker() below.
SHELL_PAGES = ("/field/", "/manifest.webmanifest")
SHELL_STATIC = ("css/app.css", "css/field.css", "js/**/*.js",
                "vendor/exifr/exifr-lite.esm.js", "vendor/leaflet/leaflet.js", "vendor/leaflet/leaflet.css",
                "vendor/leaflet/images/*.png",
                "icons/icon.svg", "icons/icon-192.png", "icons/badge-96.png", "icons/categories.svg")
_shell_cache = {}


def shell_static_files(app):
    """The shell's static files (globs expanded), in a stable order."""
    static = Path(app.static_folder)
    files = []
    for pattern in SHELL_STATIC:
        matched = sorted(p for p in static.glob(pattern) if p.is_file())
        if not matched:
            raise FileNotFoundError(f"the app shell lists {pattern}, which matches no file in {static}")
        files.extend(p for p in matched if p not in files)
    return files


def _shell_files(app):
    """sw.js and the shell page, then the shell's static files."""
    return [Path(app.static_folder) / "sw.js", Path(app.root_path) / "templates" / "field" / "shell.html",
            *shell_static_files(app)]


@dataclass(frozen=True)
class _Shell:
    version: str  # a short hash of the shell's files
    urls: tuple   # what the service worker precaches: the shell's pages and its static files


def _shell_of(app):
    """The shell's version and precache list, worked out once per process: the files
    are listed and read only then (and again when one changes, in debug mode)."""
    files = _shell_files(app) if app.debug else None
    stamp = tuple(p.stat().st_mtime_ns for p in files) if files else None
    key = (app.static_folder, stamp, app.config["RELEASE"])
    if key not in _shell_cache:
        files = files or _shell_files(app)
        digest = hashlib.sha256(key[2].encode())
        for path in files:
            digest.update(str(path.relative_to(app.root_path)).encode())
            digest.update(path.read_bytes())
        static = Path(app.static_folder)
        urls = (*SHELL_PAGES, *(f"/static/{p.relative_to(static).as_posix()}" for p in files[2:]))
        _shell_cache[key] = _Shell(digest.hexdigest()[:12], urls)
    return _shell_cache[key]


def shell_version(app):
    return _shell_of(app).version


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
    source = (source.replace("__SHELL_VERSION__", shell_version(current_app))
              .replace('["__SHELL_FILES__"]', json.dumps(list(_shell_of(current_app).urls), indent=2)))
    response = Response(source, mimetype="text/javascript")
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Service-Worker-Allowed"] = "/"
    return response
