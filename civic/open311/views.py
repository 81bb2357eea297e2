"""Open311 GeoReport v2 under /open311/v2/ (JSON or XML by the extension):
discovery, services and their definitions, filing a request with an api_key,
tokens, and reading requests. The logic is in civic/open311/; errors are the
specification's list of {code, description}, in the format asked for."""
from flask import Blueprint, current_app, request

from ..extensions import csrf
from ..grids.catalogue import active_categories
from . import catalogue, filing, forms, keys, public
from .formats import FORMATS, JSON_TYPE, XML_TYPE, Open311Error, answer, errors, requested_format
from ..urls import external_url
from ..transaction import command

bp = Blueprint("open311", __name__, url_prefix="/open311/v2")
csrf.exempt(bp)  # other systems post with an api_key, not a browser session


def _format(fmt):
    if fmt not in FORMATS:
        raise Open311Error(404, f"Unknown format '{fmt[:20]}': use .json or .xml.")
    return fmt


@bp.errorhandler(Open311Error)
def _open311_error(error):
    return errors(requested_format(), error.status, error.description)


@bp.get("/discovery.<fmt>")
def discovery(fmt):
    fmt = _format(fmt)
    config = current_app.config
    base = external_url("open311.discovery", fmt="json").rsplit("/", 1)[0] + "/"
    value = {
        "changeset": config["OPEN311_CHANGESET"],
        "contact": config["OPEN311_CONTACT"],
        "key_service": config["OPEN311_KEY_SERVICE"],
        "endpoints": [{"specification": catalogue.SPECIFICATION, "url": base, "changeset": config["OPEN311_CHANGESET"],
                       "type": config["OPEN311_TYPE"], "formats": [XML_TYPE, JSON_TYPE]}],
    }
    return answer(fmt, value, "discovery")


def _found(thing, what, key):
    """`thing`, or Open311's 404 naming what was asked for."""
    if thing is None:
        raise Open311Error(404, f"No {what} '{key[:40]}'.")
    return thing


@bp.get("/services.<fmt>")
def services(fmt):
    fmt = _format(fmt)
    return answer(fmt, [catalogue.service_dict(c) for c in active_categories()], "services", "service")


@bp.get("/services/<code>.<fmt>")
def service_definition(code, fmt):
    fmt = _format(fmt)
    category = _found(catalogue.find_service(code), "service", code)
    return answer(fmt, catalogue.service_definition(category), "service_definition")


@bp.post("/requests.<fmt>")
@command
def post_request(fmt):
    fmt = _format(fmt)
    key = keys.find_key(request.form.get("api_key"))
    if key is None:
        raise Open311Error(403, "api_key: missing or not valid.")
    new = forms.parse_request(request.form)
    case, created = filing.file_request(new, key)
    value = [{"service_request_id": case.ref, "token": case.client_id, "service_notice": filing.filed_notice(case),
              "account_id": new.contact.get("account_id")}]
    return answer(fmt, value, "service_requests", "request", status=201 if created else 200)


@bp.get("/tokens/<token>.<fmt>")
def token(token, fmt):
    fmt = _format(fmt)
    case = public.find_by_token(token)
    if case is None:
        raise Open311Error(404, "No request has this token.")
    return answer(fmt, [{"service_request_id": case.ref, "token": token}], "service_requests", "request")


@bp.get("/requests.<fmt>")
def get_requests(fmt):
    fmt = _format(fmt)
    if request.args.get("service_request_id"):  # the ids alone: the other filters do not apply
        found = public.find_requests(request.args["service_request_id"])
    else:
        found = public.list_requests(request.args)
    return answer(fmt, public.request_dicts(found), "service_requests", "request")


@bp.get("/requests/<ref>.<fmt>")
def get_request(ref, fmt):
    fmt = _format(fmt)
    case = _found(public.find_request(ref), "request", ref)
    return answer(fmt, public.request_dicts([case]), "service_requests", "request")
