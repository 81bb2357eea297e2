"""Civic grid: grid-based city management, a Flask app and an offline-first PWA."""
import os

from werkzeug.routing import IntegerConverter
from pathlib import Path

from flask import Flask, g, request, session

from . import config as config_module
from .extensions import babel, csrf, db, login_manager, migrate
from .serving import largest_body
from .spatial import engine_options, install_engine_hooks

PACKAGE_DIR = Path(__file__).parent


def select_locale():
    from flask import current_app, has_request_context

    # Outside a request (a job, a command that did not choose with force_locale) the
    # county's language: a lazy text made there must still render, not raise.
    choice = (request.args.get("lang") or session.get("lang")) if has_request_context() else None
    return choice if choice in current_app.config["LANGUAGES"] else current_app.config["BABEL_DEFAULT_LOCALE"]


def create_app(test_config=None):
    app = Flask(__name__, instance_relative_config=True)
    os.makedirs(app.instance_path, exist_ok=True)
    app.config.from_mapping(config_module.from_environment(app.instance_path))
    app.config.from_pyfile("config.py", silent=True)
    if test_config:
        app.config.update(test_config)
    app.config["SQLALCHEMY_DATABASE_URI"] = config_module.normalise_database_url(app.config["SQLALCHEMY_DATABASE_URI"])
    app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", engine_options(app.config["SQLALCHEMY_DATABASE_URI"]))

    _init_extensions(app)
    _init_services(app)
    _register_blueprints(app)
    _register_shell_and_cli(app)
    _add_security_headers(app)
    _warn_about_the_public_address(app)
    return app


def _warn_about_the_public_address(app):
    """At start: QR posters and chat-group links are built from PUBLIC_BASE_URL."""
    from urllib.parse import urlsplit

    from .urls import is_loopback

    base = app.config["PUBLIC_BASE_URL"]
    if not app.testing and is_loopback(urlsplit(base).hostname or ""):
        app.logger.warning("PUBLIC_BASE_URL is %s, a loopback address: QR posters and links in chat groups will "
                           "not open on phones. Set it to the address people reach this site at "
                           "(make run HOST=0.0.0.0 uses this machine's address).", base)


def _init_extensions(app):
    from . import models  # noqa: F401  (every table known before migrations or queries)

    db.init_app(app)
    with app.app_context():
        for engine in db.engines.values():
            install_engine_hooks(engine, app.config["SPATIALITE_LIBRARY_PATH"])
    migrate.init_app(app, db, directory=str(PACKAGE_DIR.parent / "migrations"), compare_type=True)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale, default_translation_directories=str(PACKAGE_DIR / "translations"))
    login_manager.init_app(app)
    login_manager.login_message = None

    @app.before_request
    def small_bodies_unless_photos():
        # werkzeug checks the limit while it reads the body.
        request.max_content_length = largest_body(request.mimetype, app.config)

    @app.before_request
    def forget_previous_user():
        # Each request finds its own user. (An app context, and so `g`, can
        # outlive one request, as in tests that keep one pushed.)
        g.pop("_login_user", None)

    @login_manager.user_loader
    def load_user(user_id):
        from .accounts.sessions import load

        return load(user_id)


def _init_services(app):
    from .accounts.services import warm_up_logins
    from .cases.urgency import install as install_time_limits
    from .grids.lookup import install as install_grid_index
    from .photos.storage import make_storage
    from .notify import install as install_notify
    from .push import install as install_push
    from .rewards import install as install_rewards
    from .stats import install as install_stats
    from .stats.evaluation import install as install_evaluation

    app.extensions["photo_storage"] = make_storage(app.config)
    # The time limits of the stages (CIVIC_TIME_LIMITS): a mistake stops the start with its reason.
    install_time_limits(app)
    install_evaluation(app)  # its weights and grades (CIVIC_EVALUATION), likewise
    # Made now, not at the first login of an unknown name, which would take twice as long.
    warm_up_logins()
    install_grid_index(app)
    install_push(app)
    install_notify(app)
    install_rewards(app)
    install_stats(app)


class RowIdConverter(IntegerConverter):
    """<int:…> in every route stops at the largest id a row can have (a 32-bit
    INTEGER on PostgreSQL): /cases/99999999999999999999 is a 404 from the
    router, never an overflow in the database driver (a 500)."""

    def __init__(self, url_map, *args, **kwargs):
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(url_map, *args, **kwargs)


def _register_blueprints(app):
    app.url_map.converters["int"] = RowIdConverter  # before any rule is added
    from . import labels, routes
    from .errors import register_error_handlers

    routes.register(app)
    labels.install(app)
    register_error_handlers(app)
    _install_rate_limits(app)

    from .urls import external_url

    app.add_template_global(external_url)

    @app.context_processor
    def inject_locale():
        from flask_babel import get_locale

        return {"current_locale": str(get_locale() or "zh")}


def _install_rate_limits(app):
    # The limits wrap registered views, so they come after every blueprint.
    from .ratelimit import install

    install(app)


def _register_shell_and_cli(app):
    from . import cli

    cli.init_app(app)


def _tile_origin(url):
    """The origin of a configured map tile server, which the field app's map may load images from."""
    from urllib.parse import urlsplit

    parts = urlsplit(url or "")
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme in ("http", "https") and parts.netloc else ""


def _add_security_headers(app):
    tiles = _tile_origin(app.config.get("MAP_TILE_URL")).replace("{s}", "*")
    policy = (f"default-src 'self'; img-src 'self' data: blob: {tiles}".rstrip() + "; style-src 'self'; script-src 'self'; "
              "connect-src 'self'; worker-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'")

    @app.after_request
    def headers(response):
        response.headers.setdefault("Content-Security-Policy", policy)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response


__all__ = ["create_app"]
