"""What the phones run: the field app's shell (its pages and static files), which
the service worker precaches, and the version hashed from them, which each phone
reports in its heartbeat and the sync dashboard compares."""
import hashlib
from dataclasses import dataclass
from pathlib import Path

# The app shell: what the service worker caches at install, so the app opens with
# no signal, and what its version is hashed from (with sw.js and the shell page),
# so a change to any of them makes a new service worker that brings the new shell.
# One list: the worker is given it by web/field.py's service_worker().
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


def shell_of(app):
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
    return shell_of(app).version
