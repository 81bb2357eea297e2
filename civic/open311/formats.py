"""GeoReport v2 answers in JSON and XML.

JSON: lists where the specification has lists (services, requests, errors, a
posted request), objects for discovery and a service definition. XML: the
specification's roots and element names — <services><service>,
<service_requests><request>, <service_definition>, <discovery>, <errors><error>;
a nested list's items are named by the singular of its element (<attributes>
holds <attribute>, <values> holds <value>, <endpoints> <endpoint>, <formats>
<format>). True and false are written as the words, nothing as an empty element."""
import xml.etree.ElementTree as ET

from flask import Response, jsonify, request

XML_TYPE = "text/xml"
JSON_TYPE = "application/json"
FORMATS = ("json", "xml")
class Open311Error(Exception):
    """An answer of the specification's error list: [{code, description}]."""

    def __init__(self, status, description):
        super().__init__(description)
        self.status, self.description = status, description


SINGULAR = {"endpoints": "endpoint", "formats": "format", "attributes": "attribute", "values": "value"}


def _fill(element, value):
    if isinstance(value, dict):
        for key, item in value.items():
            _fill(ET.SubElement(element, key), item)
    elif isinstance(value, list):
        child = SINGULAR.get(element.tag, "item")
        for item in value:
            _fill(ET.SubElement(element, child), item)
    elif isinstance(value, bool):
        element.text = "true" if value else "false"
    elif value is not None:
        element.text = _xml_safe(str(value))


def _xml_safe(text):
    """XML 1.0 cannot hold most control characters, even escaped: drop them."""
    return "".join(ch for ch in text if ch in "\t\n\r" or ord(ch) >= 0x20 and ch not in "\ufffe\uffff")


def xml_document(root, value, item=None):
    """`value` under <root>; a list's items each as <item>."""
    element = ET.Element(root)
    if isinstance(value, list):
        for entry in value:
            _fill(ET.SubElement(element, item), entry)
    else:
        _fill(element, value)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(element, encoding="utf-8", xml_declaration=False)


def answer(fmt, value, root, item=None, status=200):
    if fmt == "xml":
        return Response(xml_document(root, value, item), status=status, mimetype=XML_TYPE)
    response = jsonify(value)
    response.status_code = status
    return response


def errors(fmt, status, description):
    return answer(fmt, [{"code": status, "description": description}], "errors", "error", status=status)


def requested_format():
    """The format of the URL being answered (for errors raised before a view ran)."""
    return "xml" if request.path.endswith(".xml") else "json"


def http_error(error):
    """An HTTP error on an Open311 URL (unknown path, wrong method, too large) in the specification's shape."""
    description = error.description or error.name
    if error.code == 404:
        description = "Not found: no such service, request, token or endpoint."
    response = errors(requested_format(), error.code, description)
    if error.code == 405 and getattr(error, "valid_methods", None):
        response.headers["Allow"] = ", ".join(error.valid_methods)
    return response
