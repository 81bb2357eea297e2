"""The grid workers' installable app: its shell page, web app manifest, service
worker, and the settings it reads before anyone logs in. The shell is static (no
user data), so the service worker can cache it; the app reads everything else
from the JSON API."""
import json
from pathlib import Path

from flask import Blueprint, Response, current_app, jsonify, render_template, url_for

from ..devices.shell import shell_of, shell_version
from ..grids.lookup import get_index
from ..tiles.packs import map_pack
from ..tiles.views import tilejson_of
from ..push.subscriptions import public_key

bp = Blueprint("field", __name__)


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
              .replace('["__SHELL_FILES__"]', json.dumps(list(shell_of(current_app).urls), indent=2)))
    response = Response(source, mimetype="text/javascript")
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Service-Worker-Allowed"] = "/"
    return response


@bp.get("/api/v1/client-config")
def client_config():
    """What the field app needs before anyone logs in."""
    config = current_app.config
    return jsonify(
        map={"tile_url": config.get("MAP_TILE_URL") or None, "attribution": config.get("MAP_TILE_ATTRIBUTION") or "",
             "crs": config["MAP_TILE_CRS"],  # the tile server's system: wgs84, gcj02 or bd09
             # The county's own tile pack (civic/tiles), which the phone keeps for offline use.
             "pack": tilejson_of(pack) if (pack := map_pack()) is not None else None},
        photos_per_report=config["PHOTOS_PER_REPORT"],
        display_max_side=config["DISPLAY_MAX_SIDE"],
        heartbeat_seconds=config["HEARTBEAT_SECONDS"],
        app_version=config["APP_VERSION"],
        push={"public_key": public_key()},
        # "Is this right?" before a report is saved (static/js/place-checks.js, intake/place_checks.py)
        place_checks={"county_bbox": get_index(current_app).county_bounds(),
                      "outside_county_metres": config["OUTSIDE_COUNTY_METRES"],
                      "old_photo_days": config["OLD_PHOTO_DAYS"], "photo_far_metres": config["PHOTO_FAR_METRES"]},
    )
