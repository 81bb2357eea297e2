"""Every route of the app in one place: the blueprints (registered in one loop),
and who may use each route (one table, enforced by one gate before every view).

The gate decides by role only; whether a user may see *this* case or *this*
redemption is the object's rule (civic/cases/access.py and the services), checked
in the view. A route without an entry in ACCESS stops the app at start in debug
and in the tests, and is refused in production: nothing is open by omission.
tests/test_access_matrix.py asks every route as every role against this table.
"""
from importlib import import_module

from flask import abort, current_app, redirect, request, url_for
from flask_login import current_user

from .accounts.models import OVERSIGHT_ROLES, STAFF_ROLES, Role
from .api import authenticate_request, is_api_request
from .errors import ApiError
from .extensions import login_manager

# Each module holds one blueprint, `bp`: the pages and API routes of one domain,
# or (civic/web) pages that combine several.
BLUEPRINTS = (
    "web.auth", "web.cases", "web.queue", "web.hotline", "web.board", "web.field", "web.docs",
    "accounts.api", "grids.api", "intake.api", "cases.api", "devices.api", "push.api", "rewards.api",
    "devices.views", "stats.views", "push.views", "posters.views", "rewards.views", "photos.views",
    "open311.views", "open311.key_views", "admin.views",
    "admin.routing_views", "admin.routing_api", "admin.organisation_views", "admin.grid_views", "admin.reply_views",
    "stats.evaluation_views", "tiles.views", "tiles.api",
)

# Who each rule lets in. "api_key": another system's Open311 key, checked by the
# view (a person's login is no key), so the gate lets every caller through.
RULES = {
    "public": None,
    "api_key": None,
    "signed_in": frozenset(Role),
    "resident": frozenset({Role.RESIDENT}),
    "staff": frozenset(STAFF_ROLES),
    "oversight": frozenset(OVERSIGHT_ROLES),
    "managers": frozenset({Role.SUPERVISOR, Role.ADMIN}),
    "admin": frozenset({Role.ADMIN}),
}

REFUSALS = {
    "resident": "This is for residents' own accounts.",
    "staff": "This is for staff only.",
    "oversight": "Only dispatchers, supervisors and administrators can see this.",
    "managers": "Only supervisors and administrators can do this.",
    "admin": "Only administrators can do this.",
}


def _each(rule, *pairs):
    return {pair: rule for pair in pairs}


def _gets(rule, blueprint, *names):
    return {(f"{blueprint}.{name}", "GET"): rule for name in names}


ACCESS = {
    # the site
    ("main.home", "GET"): "signed_in", ("main.case_detail", "GET"): "signed_in",
    ("main.case_action", "POST"): "signed_in",
    **_each("public", ("auth.login", "GET"), ("auth.login", "POST"), ("auth.set_language", "GET"),
            ("auth.register_page", "GET"), ("auth.register", "POST"), ("auth.send_code", "POST")),
    ("auth.logout", "POST"): "signed_in", ("auth.logout_everywhere", "POST"): "signed_in",
    ("auth.password", "GET"): "signed_in", ("auth.password", "POST"): "signed_in",
    **_gets("public", "board", "index", "case"),
    **_gets("public", "field", "shell", "manifest", "service_worker", "client_config"),
    ("media.photo", "GET"): "public",  # capability URLs: 128 random bits each
    ("posters.scan", "GET"): "public", ("posters.api_poster", "GET"): "public",
    **_gets("managers", "posters", "index", "new", "print_one", "print_grid"),
    **_each("managers", ("posters.create", "POST"), ("posters.deactivate", "POST"), ("posters.replace", "POST")),
    ("rewards.catalogue", "GET"): "managers", ("rewards.add_item", "POST"): "managers",
    ("rewards.update_item", "POST"): "managers",
    ("rewards.codes", "GET"): "staff", ("rewards.codes", "POST"): "staff",
    **_gets("oversight", "hotline", "form", "grids", "locate"), ("hotline.submit", "POST"): "oversight",
    ("open311_keys.index", "GET"): "admin", ("open311_keys.create", "POST"): "admin",
    ("open311_keys.revoke", "POST"): "admin",
    ("push.messages", "GET"): "admin", ("push.page", "GET"): "oversight",
    # administration: supervisors may read the people pages; changes are the administrators'
    ("admin.users", "GET"): "managers",
    **_each("admin", ("admin.deactivate", "POST"), ("admin.reactivate", "POST"), ("admin.import_form", "GET"),
            ("admin.import_preview", "POST"), ("admin.import_apply", "POST"), ("admin.import_passwords", "GET"),
            ("admin.audit_log", "GET"), ("admin.audit_export", "GET")),
    ("admin.user", "GET"): "managers",
    **_each("admin", ("admin.change_user", "POST"), ("admin.reset_password", "POST"),
            ("admin.logout_user", "POST"), ("admin.phone_code", "POST"), ("admin.phone_codes", "POST"),
            ("admin.audit_xlsx", "GET")),
    # categories and routing rules: supervisors may read (and use the tester), administrators change
    **_gets("managers", "admin_routing", "categories", "category_form", "categories_export", "routing",
            "routing_export"),
    **_each("admin", ("admin_routing.category_save", "POST"), ("admin_routing.categories_import", "POST"),
            ("admin_routing.routing_save", "POST"), ("admin_routing.routing_delete", "POST"),
            ("admin_routing.routing_import", "POST")),
    ("routing_api.routing_preview", "GET"): "oversight",
    # reply templates (惯用语): supervisors may read; administrators keep them
    ("admin_replies.reply_templates", "GET"): "managers",
    **_each("admin", ("admin_replies.reply_template_save", "POST"), ("admin_replies.reply_template_retire", "POST")),
    ("cases_api.case_replies", "GET"): "staff",
    # departments and the county's calendar: supervisors may read; changes and the settings are the administrators'
    **_gets("managers", "admin_org", "department_list", "department_page", "calendar_page"),
    **_each("admin", ("admin_org.department_new", "GET"), ("admin_org.department_create", "POST"),
            ("admin_org.department_update", "POST"), ("admin_org.department_merge", "POST"),
            ("admin_org.department_retire", "POST"), ("admin_org.department_restore", "POST"),
            ("admin_org.department_test_message", "POST"), ("admin_org.calendar_set", "POST"),
            ("admin_org.calendar_remove", "POST"), ("admin_org.calendar_import", "POST"),
            ("admin_org.settings", "GET")),
    # grids: supervisors may read the list and a grid's page; imports and changes are the administrators'
    ("admin_grids.index", "GET"): "managers", ("admin_grids.edit", "GET"): "managers",
    **_each("admin", ("admin_grids.import_form", "GET"), ("admin_grids.import_preview", "POST"),
            ("admin_grids.import_apply", "POST"), ("admin_grids.update", "POST")),
    ("dashboard.queue", "GET"): "oversight", ("dashboard.queue_bulk", "POST"): "oversight",
    ("dashboard.parked", "GET"): "staff",  # each sees the parked cases they may see (their department's)
    **_gets("oversight", "stats", "performance", "performance_export", "ranking", "report", "report_export", "hot",
            "grid_map", "case_list"),
    **_gets("oversight", "devices", "sync", "sync_json"),
    # the evaluation (考核评价): oversight reads; supervisors leave a case out of the scores
    **_gets("oversight", "evaluation", "evaluation_page", "evaluation_json", "evaluation_xlsx", "evaluation_cases"),
    **_each("managers", ("evaluation.evaluation_exclude", "POST"), ("evaluation.evaluation_include", "POST")),
    # the county's tile packs: the base map of every map, the public board's too
    **_gets("public", "tiles", "tile_image", "tilejson"),
    ("tiles_api.cache_plan", "GET"): "signed_in",
    # the API
    **_gets("public", "docs", "page", "openapi_json"),
    ("accounts_api.provision", "POST"): "public",
    **_each("public", ("accounts_api.create_token", "POST"), ("accounts_api.request_code", "POST"),
            ("accounts_api.register", "POST"), ("accounts_api.reset_password", "POST")),
    ("accounts_api.revoke_token", "DELETE"): "signed_in",
    ("accounts_api.me", "GET"): "signed_in", ("accounts_api.export_me", "GET"): "signed_in",
    ("accounts_api.logout_everywhere", "POST"): "signed_in", ("accounts_api.change_password", "POST"): "signed_in", ("accounts_api.delete_me", "DELETE"): "resident",
    ("grids_api.categories", "GET"): "public", ("grids_api.my_grids", "GET"): "signed_in",
    ("intake_api.create_report", "POST"): "signed_in",
    **_gets("signed_in", "intake_api", "list_reports", "get_report"),
    ("cases_api.get_case", "GET"): "signed_in", ("cases_api.tasks", "GET"): "signed_in",
    ("cases_api.post_action", "POST"): "signed_in",
    ("devices_api.heartbeat", "POST"): "signed_in",
    ("push_api.push_key", "GET"): "public", ("push_api.push_subscribe", "POST"): "signed_in",
    ("push_api.push_unsubscribe", "DELETE"): "signed_in", ("push_api.push_status", "GET"): "oversight",
    ("push_api.get_notification_preferences", "GET"): "signed_in",
    ("push_api.put_notification_preferences", "PUT"): "signed_in",
    ("rewards_api.my_points", "GET"): "resident", ("rewards_api.set_leaderboard", "PUT"): "resident",
    ("rewards_api.create_redemption", "POST"): "resident",
    ("rewards_api.reward_catalogue", "GET"): "signed_in", ("rewards_api.reward_leaderboard", "GET"): "public",
    ("rewards_api.check_redemption", "GET"): "staff", ("rewards_api.use_redemption", "POST"): "staff",
    # Open311 GeoReport v2
    **_gets("public", "open311", "discovery", "services", "service_definition", "get_requests", "get_request", "token"),
    ("open311.post_request", "POST"): "api_key",
}


# What a login with a one-time password (an import's) may do until its own is set:
# see who it is, set the password, log out. Everything else answers 403
# password_change_required (the API) or shows the password page (the site).
UNTIL_PASSWORD_CHANGED = {
    "accounts_api.me", "accounts_api.change_password", "accounts_api.revoke_token", "accounts_api.logout_everywhere",
    "auth.password", "auth.logout", "auth.logout_everywhere", "auth.set_language", "auth.login",
}


def rule_for(endpoint, method):
    """The rule of a route, or None for one the table does not know."""
    if endpoint == "static":
        return "public"
    return ACCESS.get((endpoint, "GET" if method == "HEAD" else method))


def allows(rule, user):
    roles = RULES[rule]
    return roles is None or (user.is_authenticated and user.role_enum in roles)


def may_visit(endpoint, method="GET"):
    """Template global: whether the menu links a page (the same rule as the gate's,
    so a link and its page never disagree)."""
    rule = rule_for(endpoint, method)
    return rule is not None and allows(rule, current_user)


def gate():
    """before_request, after the API's authentication: refuse whoever the route's
    rule does not let in, before any view runs."""
    if request.endpoint is None or request.method == "OPTIONS":
        return None  # a 404 or 405 from the router, or a preflight Flask answers itself
    rule = rule_for(request.endpoint, request.method)
    if rule is None:
        current_app.logger.error("no access rule for %s %s: refused", request.method, request.endpoint)
        abort(403)
    if allows(rule, current_user):
        return _password_first() if RULES[rule] is not None else None
    if not current_user.is_authenticated:
        if is_api_request():
            raise ApiError(401, "login_required", "Log in first.")
        return login_manager.unauthorized()
    if is_api_request():
        raise ApiError(403, "forbidden", REFUSALS.get(rule, "You may not do this."))
    abort(403)


def _password_first():
    """A signed-in route, for someone who must first replace a one-time password."""
    if not current_user.must_change_password or request.endpoint in UNTIL_PASSWORD_CHANGED:
        return None
    if is_api_request():
        raise ApiError(403, "password_change_required", "Set your own password first (POST /api/v1/me/password).")
    return redirect(url_for("auth.password", next=request.full_path))


def unruled(app):
    """(routes without a rule, rules without a route) of `app`."""
    routes = {(rule.endpoint, method) for rule in app.url_map.iter_rules() if rule.endpoint != "static"
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    return sorted(routes - set(ACCESS)), sorted(set(ACCESS) - routes)


def register(app):
    """Register every blueprint, then the API's authentication and the gate, in that
    order (a bearer token names the user the gate judges)."""
    for name in BLUEPRINTS:
        app.register_blueprint(import_module(f".{name}", __package__).bp)
    app.before_request(authenticate_request)
    app.before_request(gate)
    app.add_template_global(may_visit)
    missing, stale = unruled(app)
    if missing or stale:
        message = f"routes without an access rule: {missing}; rules without a route: {stale} (civic/routes.py)"
        if app.debug or app.testing:
            raise RuntimeError(message)
        app.logger.error(message)
