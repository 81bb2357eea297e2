"""Which roles a blueprint's pages are for: one guard for every blueprint that is
for some people only, with the template global that decides whether the menu
shows its link, so the link and the page can never disagree."""
from flask import abort
from flask_login import current_user, login_required

from .accounts.models import Role

ADMINS = frozenset({Role.ADMIN})


def is_staff(user):
    return user.is_staff


def allows(rule, user):
    """`rule` is a set of roles or a predicate on the user."""
    if not user.is_authenticated:
        return False
    return rule(user) if callable(rule) else user.role_enum in rule


def only(bp, rule, *, menu=None):
    """Every page of `bp` is for the users `rule` allows (403 for others, the login
    page for nobody); `menu` names the template global that says whether to link it."""
    @bp.before_request
    @login_required
    def guard():
        if not allows(rule, current_user):
            abort(403)

    if menu:
        bp.add_app_template_global(lambda: allows(rule, current_user), menu)
    return guard
