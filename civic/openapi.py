"""The OpenAPI 3.1 document of /api/v1 and /open311/v2, served at
/api/openapi.json and shown at /api/docs. Written here, next to nothing else,
so one file says what every operation takes and answers; the test suite runs
schemathesis against the live app from it (tests/test_openapi.py), so a route
that answers outside its description fails the suite.

Response bodies are described by the fields clients rely on (types, required
keys); objects may carry more fields than listed, as the API grows compatibly.
"""
from .cases.models import Status
from .cases.stages import STAGES
from .cases.urgency import LEVELS
from .version import APP_VERSION

STRING, INTEGER, NUMBER, BOOLEAN = {"type": "string"}, {"type": "integer"}, {"type": "number"}, {"type": "boolean"}
DATETIME = {"type": "string", "format": "date-time"}
JSON = "application/json"
XML = "text/xml"


def null(schema):
    """The schema or null (OpenAPI 3.1: JSON Schema's type arrays)."""
    if "$ref" in schema:
        return {"anyOf": [schema, {"type": "null"}]}
    types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
    return {**schema, "type": types + ["null"]}


def obj(properties=None, required=(), **extra):
    return {"type": "object", "properties": properties or {}, "required": list(required), **extra}


def array(items):
    return {"type": "array", "items": items}


def ref(name):
    return {"$ref": f"#/components/schemas/{name}"}


CODE_NAME = obj({"code": STRING, "name": STRING}, ["code", "name"])
PHOTO = obj({"kind": STRING, "url": STRING, "thumb_url": STRING, "width": null(INTEGER), "height": null(INTEGER)},
            ["kind", "url", "thumb_url"])
PART_CLOCK = obj({"started_at": STRING, "due_at": null(STRING), "done_at": null(STRING), "on_time": null(BOOLEAN)},
                 ["started_at"])
CASE = obj({
    "id": INTEGER, "ref": null(STRING), "client_id": null(STRING),
    "status": {"type": "string", "enum": [status.value for status in Status]},
    "channel": STRING, "category": obj({"code": STRING, "name": STRING, "name_en": STRING}, ["code"]),
    "description": STRING, "lat": null(NUMBER), "lng": null(NUMBER), "location_source": STRING,
    "accuracy_m": null(NUMBER), "address": null(STRING),
    "location_flags": array({"type": "string", "enum": ["outside_county", "old_photo", "photo_far_from_device"]}), "grid": null(CODE_NAME), "department": null(CODE_NAME),
    "deadlines": obj({"acknowledge": null(STRING), "resolve": null(STRING)}), "photos": array(PHOTO),
    "captured_at": null(STRING), "created_at": STRING, "updated_at": STRING, "reported_by_me": BOOLEAN,
    "assignee": null(obj({"id": INTEGER, "name": STRING})), "assigned_at": null(STRING), "assigned_to_me": BOOLEAN,
    "urgency": {"type": "string", "enum": list(LEVELS)},
    "dispute": {"type": ["string", "null"], "enum": [None, "arbitration", "decided"]},
    "stages": array(obj({"stage": {"type": "string", "enum": list(STAGES)},
                         "owner": null(obj({"kind": {"type": "string", "enum": ["dispatch", "department", "user"]},
                                            "id": null(INTEGER), "name": null(STRING)}, ["kind"])),
                         "started_at": null(STRING), "due_at": null(STRING), "done_at": null(STRING),
                         "on_time": null(BOOLEAN), "outcome": null(STRING)}, ["stage"])),
    # 协办: each assisting department's part, on its own clocks ([] when the lead works alone).
    "assists": array(obj({"department": null(CODE_NAME),
                          "status": {"type": "string",
                                     "enum": ["waiting", "working", "reported", "waived", "withdrawn", "parked"]},
                          "acknowledge": null(PART_CLOCK), "handle": null(PART_CLOCK), "mine": BOOLEAN,
                          "note": null(STRING), "photos": INTEGER}, ["department", "status", "acknowledge"])),
}, ["id", "ref", "client_id", "status", "channel", "category", "photos", "created_at"])
CASE_DETAIL = {"allOf": [CASE, obj({
    "events": array(obj({"id": INTEGER, "action": STRING, "from_status": null(STRING), "to_status": null(STRING),
                         "note": null(STRING), "at": STRING, "actor": null(STRING)}, ["id", "action", "at"])),
    "allowed_actions": array(STRING), "round": INTEGER, "recheck_pending": BOOLEAN,
}, ["events", "allowed_actions"])]}
ERROR = obj({"error": obj({"code": STRING, "message": STRING, "field": null(STRING)}, ["code", "message"])},
            ["error"])
USER_REF = obj({"id": INTEGER, "username": STRING, "role": STRING}, ["id", "username", "role"])
TOKEN = obj({"token": STRING, "user": ref("UserRef"), "must_change_password": BOOLEAN}, ["token", "user"])
PREFERENCES = obj({"mute_at_night": BOOLEAN, "night": STRING, "resident_updates": BOOLEAN})
ITEM = obj({"id": INTEGER, "code": STRING, "name": STRING, "description": STRING, "cost": INTEGER,
            "stock": INTEGER}, ["id", "name", "cost"])
REDEMPTION = obj({"id": INTEGER, "item": ITEM, "cost": INTEGER, "status": STRING, "code": STRING,
                  "created_at": STRING, "used_at": null(STRING)}, ["id", "status"])

SCHEMAS = {"Error": ERROR, "Case": CASE, "CaseDetail": CASE_DETAIL, "UserRef": USER_REF, "Token": TOKEN,
           "Preferences": PREFERENCES, "RewardItem": ITEM, "Redemption": REDEMPTION}


def body(schema, media=JSON, required=True):
    return {"required": required, "content": {media: {"schema": schema}}}


def answer(description, schema=None, media=JSON):
    return {"description": description, **({"content": {media: {"schema": schema}}} if schema else {})}


def operation(summary, responses, *, tag, auth=True, params=(), request=None, operation_id):
    """An operation; every one may answer a 4xx error in the API's error shape, and
    503 database_unavailable (with Retry-After) while the database is away."""
    responses = {str(code): value for code, value in responses.items()}
    responses.setdefault("4XX", answer("Refused: the error says why (code, message, the field at fault).",
                                       ref("Error")))
    responses.setdefault("503", {**answer("The database (or the photo store) is away for a moment; nothing was "
                                          "saved. Send it again after Retry-After seconds.", ref("Error")),
                                 "headers": {"Retry-After": {"schema": INTEGER}}})
    op = {"summary": summary, "tags": [tag], "operationId": operation_id, "responses": responses}
    if params:
        op["parameters"] = list(params)
    if request:
        op["requestBody"] = request
    op["security"] = [{"bearer": []}, {"session": []}] if auth else []
    return op


def path_param(name, schema=INTEGER, description=""):
    return {"name": name, "in": "path", "required": True, "schema": schema, "description": description}


def query(name, schema, description=""):
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


ACTION = obj({"client_id": {"type": "string", "format": "uuid"}, "action": STRING, "note": null(STRING),
              "at": null(STRING), "department": null(STRING), "assignee_id": null(INTEGER), "until": null(STRING),
              "into": null(STRING), "rating": null(STRING), "urgency": null(STRING),
              "needs": null(STRING),
              "assisting": {"type": ["array", "null"], "items": STRING, "maxItems": 5,
                            "description": "dispatch, reroute, arbitrate: the assisting departments' codes (协办)"}},
             ["client_id", "action"])
REPORT_META = obj({"client_id": {"type": "string", "format": "uuid"}, "category": STRING, "description": STRING,
                   "lat": null(NUMBER), "lng": null(NUMBER), "accuracy_m": null(NUMBER), "captured_at": null(STRING),
                   "address": null(STRING), "channel": null(STRING), "location_source": null(STRING),
                   "poster": null(STRING), "photo_lat": null(NUMBER), "photo_lng": null(NUMBER)},
                  ["client_id", "category"])
MULTIPART_REPORT = obj({"meta": {"type": "string", "description": "The report's JSON (as the JSON body)",
                                 "contentMediaType": JSON},
                        "photo": array({"type": "string", "contentMediaType": "application/octet-stream"})},
                       ["meta"])
HEARTBEAT = obj({"device_id": STRING, "app_version": null(STRING), "pending": INTEGER, "rejected": INTEGER,
                 "oldest_pending_at": null(STRING), "last_sync_at": null(STRING), "storage_used": null(INTEGER),
                 "storage_quota": null(INTEGER), "persisted": null(BOOLEAN), "sync_failures": INTEGER,
                 "last_failure_at": null(STRING), "last_failure": null(STRING)}, ["device_id"])


def api_paths():
    case_id = path_param("case_id", INTEGER, "The case's id")
    t = "field app"
    return {
        "/api/v1/auth/token": {
            "post": operation("Log in a device: a long-lived bearer token", {201: answer("Logged in", ref("Token"))},
                              tag="accounts", auth=False, operation_id="createToken",
                              request=body(obj({"username": STRING, "password": STRING, "device_id": null(STRING),
                                                "device_name": null(STRING)}, ["username", "password"]))),
            "delete": operation("Log out: revoke the token sent", {204: answer("Revoked")}, tag="accounts",
                                operation_id="revokeToken"),
        },
        "/api/v1/provision": {"post": operation(
            "Log a phone in with a printed QR code's one-time code (24 hours, one use): the login's answer",
            {201: answer("Logged in", ref("Token"))}, tag="accounts", auth=False, operation_id="provision",
            request=body(obj({"code": STRING, "device_id": null(STRING), "device_name": null(STRING)}, ["code"])))},
        "/api/v1/auth/codes": {"post": operation(
            "Text a one-time code to a phone (register or reset)",
            {202: answer("Sent (the same answer whether the phone has an account or not)",
                         obj({"sent": BOOLEAN, "expires_in": INTEGER, "resend_after": INTEGER}, ["sent"]))},
            tag="accounts", auth=False, operation_id="requestCode",
            request=body(obj({"phone": STRING, "purpose": {"type": "string", "enum": ["register", "reset"]}},
                             ["phone", "purpose"])))},
        "/api/v1/auth/register": {"post": operation(
            "Register a resident with a texted code", {201: answer("Registered and logged in", ref("Token"))},
            tag="accounts", auth=False, operation_id="register",
            request=body(obj({"phone": STRING, "code": STRING, "password": STRING, "display_name": null(STRING),
                              "device_id": null(STRING), "device_name": null(STRING)},
                             ["phone", "code", "password"])))},
        "/api/v1/auth/reset": {"post": operation(
            "Set a resident's new password with a texted code", {200: answer("Done", obj({"ok": BOOLEAN}, ["ok"]))},
            tag="accounts", auth=False, operation_id="resetPassword",
            request=body(obj({"phone": STRING, "code": STRING, "password": STRING}, ["phone", "code", "password"])))},
        "/api/v1/me": {
            "get": operation("Who I am", {200: answer("The user", obj(
                {"id": INTEGER, "username": STRING, "display_name": STRING, "role": STRING,
                 "grids": array(CODE_NAME), "department": null(CODE_NAME), "must_change_password": BOOLEAN},
                ["id", "username", "role"]))},
                tag="accounts", operation_id="getMe"),
            "delete": operation("Delete my resident account (the cases stay, anonymised)",
                                {200: answer("Deleted", obj({"deleted": BOOLEAN}, ["deleted"]))}, tag="accounts",
                                operation_id="deleteMe", request=body(obj({"password": STRING}, ["password"]))),
        },
        "/api/v1/me/password": {"post": operation(
            "Set my own password (required after an import's one-time password; `old` may be left out only by "
            "a phone logged in by a QR code, before its first own password); my other sessions and tokens end",
            {200: answer("Done", obj({"ok": BOOLEAN, "must_change_password": BOOLEAN}, ["ok"]))}, tag="accounts",
            operation_id="changePassword", request=body(obj({"old": STRING, "new": STRING}, ["new"])))},
        "/api/v1/me/logout-everywhere": {"post": operation(
            "Log out everywhere: end every session and device token of mine, this one's too",
            {200: answer("Done", obj({"ok": BOOLEAN}, ["ok"]))}, tag="accounts", operation_id="logoutEverywhere")},
        "/api/v1/me/export": {"get": operation("Everything about me, as a download", {200: answer(
            "My data", obj({"account": obj(), "reports": array(obj()), "exported_at": STRING}, ["account"]))},
            tag="accounts", operation_id="exportMe")},
        "/api/v1/me/grids": {"get": operation("My grids, as GeoJSON", {200: answer("A FeatureCollection", obj(
            {"type": {"const": "FeatureCollection"}, "features": array(obj({"type": STRING, "id": INTEGER,
                                                                            "geometry": obj(), "properties": obj()}))},
            ["type", "features"]))}, tag=t, operation_id="myGrids")},
        "/api/v1/me/notifications": {
            "get": operation("My notification preferences", {200: answer("Preferences", ref("Preferences"))},
                             tag="push", operation_id="getPreferences"),
            "put": operation("Change my notification preferences",
                             {200: answer("Preferences", ref("Preferences"))}, tag="push",
                             operation_id="putPreferences", request=body(ref("Preferences"))),
        },
        "/api/v1/me/points": {"get": operation("My points, ledger and redemptions (residents)", {200: answer(
            "Points", obj({"balance": INTEGER, "entries": array(obj()), "redemptions": array(obj()),
                           "on_leaderboard": BOOLEAN, "rules": obj()}, ["balance", "entries"]))},
            tag="rewards", operation_id="myPoints")},
        "/api/v1/me/leaderboard": {"put": operation(
            "Show me (masked) on the leaderboard or not",
            {200: answer("Saved", obj({"on_leaderboard": BOOLEAN}, ["on_leaderboard"]))}, tag="rewards",
            operation_id="setLeaderboard", request=body(obj({"on_leaderboard": BOOLEAN}, ["on_leaderboard"])))},
        "/api/v1/categories": {"get": operation("The categories a report can have", {200: answer(
            "Categories", obj({"categories": array(obj({"code": STRING, "name": STRING, "kind": STRING},
                                                       ["code", "name"]))}, ["categories"]))},
            tag=t, operation_id="categories")},
        "/api/v1/routing/preview": {"get": operation(
            "Who would get a new case of a category at a point or in a grid, and the rule that decides "
            "(dispatchers, supervisors, administrators)",
            {200: answer("The grid, the department and the rule (null: outside every grid, nobody)", obj(
                {"grid": null(CODE_NAME), "department": null(CODE_NAME), "rule": obj(
                    {"id": null(INTEGER), "step": null(STRING), "precedence": null(INTEGER), "description": STRING,
                     "liaison_group": null(STRING)}, ["description"])}, ["grid", "department", "rule"]))},
            tag="routing", operation_id="routingPreview",
            params=[query("category", STRING, "A category code (required)"), query("lat", NUMBER),
                    query("lng", NUMBER), query("grid", STRING, "A grid code, instead of lat and lng")])},
        "/api/v1/client-config": {"get": operation("Settings for the field app", {200: answer(
            "Settings", obj({"app_version": STRING, "heartbeat_seconds": INTEGER, "photos_per_report": INTEGER,
                             "display_max_side": INTEGER, "map": obj(), "push": obj()}, ["app_version"]))},
            tag=t, auth=False, operation_id="clientConfig")},
        "/api/v1/tiles/plan": {"get": operation("The tiles this phone keeps for its worker's grids (offline map)",
            {200: answer("The plan: the pack, its version and the tile URLs, lowest zooms first, within the cap",
                         obj({"pack": null(STRING), "version": null(STRING), "tiles": array(STRING),
                              "count": INTEGER, "bytes": INTEGER, "capped": BOOLEAN, "cap_bytes": INTEGER},
                             ["pack", "tiles", "count", "bytes", "capped"]))},
            tag=t, operation_id="tilePlan")},
        "/api/v1/reports": {
            "post": operation(
                "Send a report (idempotent by client_id)",
                {201: answer("A new case", ref("Case")), 200: answer("The same report again: the same case",
                                                                    ref("Case")),
                 503: answer("Photo storage or the database unreachable; nothing was saved", ref("Error")),
                 507: answer("Photo storage full; nothing was saved", ref("Error"))},
                tag=t, operation_id="createReport",
                request={"required": True, "content": {"multipart/form-data": {"schema": MULTIPART_REPORT},
                                                       JSON: {"schema": REPORT_META}}}),
            "get": operation("My reports and the cases I follow", {200: answer(
                "Reports", obj({"reports": array(ref("Case"))}, ["reports"]))}, tag=t, operation_id="listReports",
                params=[query("limit", {"type": "integer", "minimum": 1, "maximum": 200})]),
        },
        "/api/v1/reports/{case_id}": {"get": operation("One report", {200: answer("The case", ref("Case"))},
                                                       tag=t, params=[case_id], operation_id="getReport")},
        "/api/v1/cases/{case_id}": {"get": operation(
            "A case with its events and the steps I may take", {200: answer("The case", ref("CaseDetail"))},
            tag="workflow", params=[case_id], operation_id="getCase")},
        "/api/v1/cases/{case_id}/actions": {"post": operation(
            "Take a workflow step (idempotent by client_id)",
            {201: answer("Applied", obj({"event": obj(), "case": ref("Case")}, ["event", "case"])),
             200: answer("The same step again: applied once", obj({"event": obj(), "case": ref("Case")},
                                                                  ["event", "case"])),
             503: answer("Photo storage or the database unreachable", ref("Error")), 507: answer("Photo storage full", ref("Error"))},
            tag="workflow", params=[case_id], operation_id="postAction",
            request={"required": True, "content": {JSON: {"schema": ACTION}, "multipart/form-data": {
                "schema": MULTIPART_REPORT}}})},
        "/api/v1/cases/{case_id}/replies": {"get": operation(
            "Reply templates (惯用语) for the steps I may take now, filled from the case",
            {200: answer("The templates", obj({"replies": array(obj({
                "action": STRING, "id": INTEGER, "title": STRING, "text": STRING},
                ["action", "id", "title", "text"]))}, ["replies"]))},
            tag="workflow", params=[case_id, query("action", STRING, "Only this step's")],
            operation_id="getCaseReplies")},
        "/api/v1/tasks": {"get": operation("My tasks, soonest deadline first", {
            200: answer("Tasks", obj({"tasks": array(ref("CaseDetail"))}, ["tasks"])),
            304: answer("Not changed since the ETag sent")}, tag=t, operation_id="tasks",
            params=[{"name": "If-None-Match", "in": "header", "required": False, "schema": STRING}])},
        "/api/v1/devices/heartbeat": {"post": operation(
            "Tell the server how this phone is doing (the sync dashboard)",
            {200: answer("Recorded", obj({"ok": BOOLEAN, "server_time": STRING}, ["ok"]))}, tag=t,
            operation_id="heartbeat", request=body(HEARTBEAT))},
        "/api/v1/push/key": {"get": operation("The VAPID public key", {200: answer(
            "Key", obj({"public_key": STRING}, ["public_key"]))}, tag="push", auth=False, operation_id="pushKey")},
        "/api/v1/push/subscriptions": {
            "post": operation("Subscribe this browser to push", {
                201: answer("Subscribed", obj()), 200: answer("Already known", obj())}, tag="push",
                operation_id="pushSubscribe", request=body(obj({
                    "endpoint": STRING, "keys": obj({"p256dh": STRING, "auth": STRING}, ["p256dh", "auth"]),
                    "device_id": null(STRING)}, ["endpoint", "keys"]))),
            "delete": operation("Unsubscribe", {204: answer("Gone")}, tag="push", operation_id="pushUnsubscribe",
                                request=body(obj({"endpoint": STRING}, ["endpoint"]))),
        },
        "/api/v1/push/status": {"get": operation("Who can be reached by push (oversight roles)", {200: answer(
            "Users", obj({"users": array(obj({"id": INTEGER, "username": STRING, "push_active": BOOLEAN},
                                             ["id", "push_active"]))}, ["users"]))}, tag="push",
            operation_id="pushStatus", params=[query("role", STRING)])},
        "/api/v1/posters/{code}": {"get": operation("A QR poster's place", {200: answer("The poster", obj(
            {"code": STRING, "name": STRING, "kind": STRING, "grid": null(CODE_NAME), "lat": null(NUMBER),
             "lng": null(NUMBER), "address": null(STRING), "active": BOOLEAN}, ["code", "name", "active"]))},
            tag="rewards", auth=False, operation_id="poster",
            params=[path_param("code", {"type": "string", "maxLength": 16})])},
        "/api/v1/rewards": {"get": operation("The reward catalogue", {200: answer(
            "Items", obj({"items": array(ref("RewardItem"))}, ["items"]))}, tag="rewards",
            operation_id="rewards")},
        "/api/v1/rewards/leaderboard": {"get": operation("The leaderboard (masked names)", {200: answer(
            "Leaders", obj({"leaders": array(obj({"rank": INTEGER, "name": STRING, "points": INTEGER}))},
                           ["leaders"]))}, tag="rewards", auth=False, operation_id="leaderboard")},
        "/api/v1/rewards/redemptions": {"post": operation(
            "Redeem points for an item (idempotent by client_id)",
            {201: answer("A one-time code", obj({"redemption": ref("Redemption"), "balance": INTEGER})),
             200: answer("The same redemption again", obj({"redemption": ref("Redemption"), "balance": INTEGER}))},
            tag="rewards", operation_id="redeem",
            request=body(obj({"client_id": {"type": "string", "format": "uuid"}, "item_id": INTEGER},
                             ["client_id", "item_id"])))},
        "/api/v1/rewards/redemptions/{code}": {"get": operation(
            "Look up a redemption code (staff)", {200: answer("The redemption", obj({"redemption": obj()},
                                                                                 ["redemption"]))},
            tag="rewards", operation_id="checkRedemption", params=[path_param("code", STRING)])},
        "/api/v1/rewards/redemptions/use": {"post": operation(
            "Hand the item over: mark the code used, once (staff)",
            {200: answer("Used", obj({"redemption": obj()}, ["redemption"]))}, tag="rewards",
            operation_id="useRedemption", request=body(obj({"code": STRING}, ["code"])))},
    }


# -- Open311 ----------------------------------------------------------------------------------

O311_ERRORS = array(obj({"code": INTEGER, "description": STRING}, ["code", "description"]))
SERVICE = obj({"service_code": STRING, "service_name": STRING, "description": STRING, "metadata": BOOLEAN,
               "type": {"type": "string", "enum": ["realtime", "batch", "blackbox"]}, "keywords": STRING,
               "group": STRING}, ["service_code", "service_name", "metadata", "type"])
ATTRIBUTE = obj({"variable": BOOLEAN, "code": STRING, "datatype": {"type": "string", "enum": [
    "string", "number", "datetime", "text", "singlevaluelist", "multivaluelist"]}, "required": BOOLEAN,
    "datatype_description": null(STRING), "order": INTEGER, "description": STRING,
    "values": array(obj({"key": STRING, "name": STRING}, ["key", "name"]))},
    ["variable", "code", "datatype", "required", "order", "description"])
REQUEST = obj({name: null(STRING) for name in (
    "status_notes", "description", "agency_responsible", "service_notice", "updated_datetime", "expected_datetime",
    "address", "address_id", "zipcode", "media_url")} | {
    "service_request_id": STRING, "status": {"type": "string", "enum": ["open", "closed"]}, "service_name": STRING,
    "service_code": STRING, "requested_datetime": STRING, "lat": null(NUMBER), "long": null(NUMBER)},
    ["service_request_id", "status", "service_code", "requested_datetime"])
FORMAT = {"name": "format", "in": "path", "required": True, "schema": {"type": "string", "enum": ["json", "xml"]},
          "description": "json or xml"}


def o311_answer(description, schema, code=200):
    return {str(code): {"description": description, "content": {JSON: {"schema": schema},
                                                                XML: {"schema": STRING}}}}


def o311(summary, responses, *, params=(), request=None, operation_id):
    errors = {"description": "Errors: a list of {code, description}",
              "content": {JSON: {"schema": O311_ERRORS}, XML: {"schema": STRING}}}
    op = {"summary": summary, "tags": ["open311"], "operationId": operation_id,
          "parameters": [*params, FORMAT], "security": [],
          "responses": {**responses, "4XX": errors,
                        "503": {**errors, "description": "The database is away for a moment: send it again after "
                                                         "Retry-After seconds",
                                "headers": {"Retry-After": {"schema": INTEGER}}}}}
    if request:
        op["requestBody"] = request
    return op


def open311_paths():
    return {
        "/open311/v2/discovery.{format}": {"get": o311("Discovery", o311_answer("Endpoints", obj(
            {"changeset": STRING, "contact": STRING, "key_service": STRING, "endpoints": array(obj(
                {"specification": STRING, "url": STRING, "changeset": STRING, "type": STRING,
                 "formats": array(STRING)}, ["specification", "url", "type", "formats"]))},
            ["endpoints"])), operation_id="open311Discovery")},
        "/open311/v2/services.{format}": {"get": o311("Services (the categories)", o311_answer(
            "Services", array(SERVICE)), operation_id="open311Services")},
        "/open311/v2/services/{service_code}.{format}": {"get": o311(
            "A service's definition: its attributes", o311_answer("Definition", obj(
                {"service_code": STRING, "attributes": array(ATTRIBUTE)}, ["service_code", "attributes"])),
            params=[path_param("service_code", {"type": "string", "maxLength": 16})],
            operation_id="open311ServiceDefinition")},
        "/open311/v2/requests.{format}": {
            "post": o311("File a service request (api_key required)", {
                **o311_answer("Filed", array(obj({"service_request_id": STRING, "token": STRING,
                                                  "service_notice": STRING, "account_id": null(STRING)},
                                                 ["service_request_id"])), 201),
                **o311_answer("The same request again today: the same one", array(obj()), 200)},
                request=body(obj({name: STRING for name in (
                    "api_key", "service_code", "address_string", "address_id", "email", "device_id", "account_id",
                    "first_name", "last_name", "phone", "description", "media_url")} | {
                    "lat": NUMBER, "long": NUMBER}, ["api_key", "service_code"]),
                    media="application/x-www-form-urlencoded"),
                operation_id="open311PostRequest"),
            "get": o311("Service requests (the last 90 days by default, at most 1000)", o311_answer(
                "Requests", array(REQUEST)), operation_id="open311GetRequests", params=[
                query("service_request_id", STRING, "Comma-separated ids; the other filters are then ignored"),
                query("service_code", STRING), query("start_date", STRING, "W3C datetime"),
                query("end_date", STRING, "W3C datetime"),
                query("status", {"type": "string", "enum": ["open", "closed", "open,closed"]})]),
        },
        "/open311/v2/requests/{service_request_id}.{format}": {"get": o311(
            "One service request (a one-element list)", o311_answer("The request", array(REQUEST)),
            params=[path_param("service_request_id", {"type": "string", "maxLength": 32})],
            operation_id="open311GetRequest")},
        "/open311/v2/tokens/{token}.{format}": {"get": o311(
            "The id a token was given", o311_answer("Id", array(obj({"service_request_id": STRING, "token": STRING},
                                                                    ["service_request_id", "token"]))),
            params=[path_param("token", STRING)], operation_id="open311Token")},
    }


def document(server_url="/"):
    return {
        "openapi": "3.1.0",
        "info": {"title": "Civic grid (网格通) API", "version": APP_VERSION,
                 "description": "The field app's API (/api/v1) and Open311 GeoReport v2 (/open311/v2). Errors of "
                                "/api/v1 are {\"error\": {\"code\", \"message\", \"field\"}} with a 4xx status."},
        "servers": [{"url": server_url}],
        "tags": [{"name": n} for n in ("accounts", "field app", "workflow", "push", "rewards", "routing", "open311")],
        "paths": {**api_paths(), **open311_paths()},
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "A device token from POST /api/v1/auth/token"},
                "session": {"type": "apiKey", "in": "cookie", "name": "session",
                            "description": "The site's login cookie; writes need the X-CSRFToken header"},
            },
        },
    }
