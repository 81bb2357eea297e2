"""The API's description: GET /api/openapi.json (OpenAPI 3.1, for generic tools
and clients) and /api/docs, a page drawn from it on the server (no script, no
CDN: it reads on an intranet and prints)."""
from flask import Blueprint, jsonify, render_template

from ..openapi import document

bp = Blueprint("docs", __name__, url_prefix="/api")
METHODS = ("get", "post", "put", "delete")


@bp.get("/openapi.json")
def openapi_json():
    response = jsonify(document())  # servers: "/", relative to wherever the document was read
    response.headers["Access-Control-Allow-Origin"] = "*"  # a public description, for tools on other hosts
    return response


def _schema_fields(schema, components):
    """(name, type, required) of an object schema's properties, one level deep."""
    while "$ref" in schema:
        schema = components[schema["$ref"].rsplit("/", 1)[1]]
    if "allOf" in schema:
        return [field for part in schema["allOf"] for field in _schema_fields(part, components)]
    required = set(schema.get("required", ()))
    rows = []
    for name, prop in (schema.get("properties") or {}).items():
        kind = prop.get("type") or ("object" if "$ref" in prop else "any")
        if isinstance(kind, list):
            kind = " | ".join(kind)
        rows.append((name, kind, name in required))
    return rows


@bp.get("/docs")
def page():
    doc = document()
    components = doc["components"]["schemas"]
    groups = {tag["name"]: [] for tag in doc["tags"]}
    for path, item in doc["paths"].items():
        for method in METHODS:
            if method not in item:
                continue
            op = item[method]
            bodies = []
            for media, content in (op.get("requestBody") or {}).get("content", {}).items():
                bodies.append((media, _schema_fields(content["schema"], components)))
            groups[op["tags"][0]].append({
                "method": method.upper(), "path": path, "summary": op["summary"], "id": op["operationId"],
                "auth": bool(op.get("security")), "parameters": op.get("parameters", []), "bodies": bodies,
                "responses": [(code, r["description"]) for code, r in op["responses"].items()],
            })
    return render_template("docs/api.html", doc=doc, groups=groups)
