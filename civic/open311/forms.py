"""A POSTed request, checked: its fields as the specification names them, the
category's attributes, a position or an address. Every refusal is an Open311Error
naming the field."""
import math
import re
from dataclasses import dataclass, field


from .. import phones
from ..grids.coordinates import OutOfRange, parse_degrees
from ..grids.models import Category
from .catalogue import COMPONENT_ID, attributes_for, find_service
from .formats import Open311Error


DESCRIPTION_MAX = 4000
TEXT_MAX = 200
URL_MAX = 2000


@dataclass
class NewRequest:
    category: Category
    lat: float | None = None
    lng: float | None = None
    address: str | None = None
    address_id: str | None = None
    attributes: dict = field(default_factory=dict)
    description: str = ""
    media_url: str | None = None
    phone: str | None = None
    contact: dict = field(default_factory=dict)  # email, first_name, last_name, account_id, device_id

    def canonical(self):
        parts = [self.category.code, repr(self.lat), repr(self.lng), self.address or "", self.address_id or "",
                 repr(sorted(self.attributes.items())), self.description, self.media_url or "", self.phone or "",
                 repr(sorted(self.contact.items()))]
        return "\x1f".join(parts)


def _text(form, name, limit=TEXT_MAX):
    value = form.get(name)
    if value is None:
        return None
    value = value.strip()
    if "\x00" in value:
        raise Open311Error(400, f"{name}: NUL characters are not allowed.")
    if len(value) > limit:
        raise Open311Error(400, f"{name}: at most {limit} characters.")
    return value or None


def _coordinate(form, name, low, high):
    try:
        return parse_degrees(_text(form, name, 40), low, high)
    except OutOfRange:
        raise Open311Error(400, f"{name}: must be between {low} and {high}.") from None
    except ValueError:
        raise Open311Error(400, f"{name}: a decimal number (WGS84 degrees) is expected.") from None


PHONE = re.compile(r"^\+?[0-9][0-9 \-]{4,18}[0-9]$")


EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,190}\.[^@\s]{2,}$")


URL = re.compile(r"^https?://[^\s]+$", re.IGNORECASE)


def parse_request(form):
    """The POST form (a MultiDict) as a NewRequest, or Open311Error 400 naming the field."""
    code = _text(form, "service_code", 16)
    if code is None:
        raise Open311Error(400, "service_code: required.")
    category = find_service(code)
    if category is None:
        raise Open311Error(400, f"service_code: no service '{code}'.")
    new = NewRequest(category=category)
    new.lat, new.lng = _coordinate(form, "lat", -90, 90), _coordinate(form, "long", -180, 180)
    if (new.lat is None) != (new.lng is None):
        raise Open311Error(400, "lat and long: both are needed.")
    new.address = _text(form, "address_string", 500)
    new.address_id = _text(form, "address_id", 100)
    if new.lat is None and not new.address and not new.address_id:
        raise Open311Error(400, "location: lat and long, address_string or address_id is required.")
    new.attributes = _attributes(form, category)
    new.description = _text(form, "description", DESCRIPTION_MAX) or ""
    new.media_url = _text(form, "media_url", URL_MAX)
    if new.media_url and not URL.match(new.media_url):
        raise Open311Error(400, "media_url: an http or https URL is expected.")
    typed = _text(form, "phone", 20)
    if typed:
        typed = phones.plain(typed)  # full-width and other scripts' digits are digits
        if not PHONE.match(typed):
            raise Open311Error(400, "phone: digits, spaces, '-' and a leading '+' only.")
    # The one reading of a Chinese number (as registration and the hotline read it); another country's as sent.
    new.phone = (phones.mobile_or_landline(typed) or typed) if typed else typed
    email = _text(form, "email", 254)
    if email and not EMAIL.match(email):
        raise Open311Error(400, "email: not an e-mail address.")
    new.contact = {k: v for k, v in (("email", email), ("first_name", _text(form, "first_name", 100)),
                                     ("last_name", _text(form, "last_name", 100)),
                                     ("account_id", _text(form, "account_id", 100)),
                                     ("device_id", _text(form, "device_id", 100))) if v}
    return new


ATTRIBUTE_FIELD = re.compile(r"^attribute\[([A-Za-z0-9_\-]{1,64})\](\[\])?$")


def _attributes(form, category):
    known = {a.code: a for a in attributes_for(category)}
    given = {}
    for name in form.keys():
        match = ATTRIBUTE_FIELD.match(name)
        if name.startswith("attribute") and not match:
            raise Open311Error(400, f"{name[:80]}: attributes are sent as attribute[CODE].")
        if not match:
            continue
        code = match[1]
        attribute = known.get(code)
        if attribute is None:
            raise Open311Error(400, f"attribute[{code}]: service {category.code} has no such attribute.")
        values = [v.strip() for v in form.getlist(name) if v and v.strip()]
        if any("\x00" in v or len(v) > TEXT_MAX for v in values):
            raise Open311Error(400, f"attribute[{code}]: at most {TEXT_MAX} characters, no NUL.")
        if not values:
            continue
        given[code] = _attribute_value(attribute, values)
    for attribute in known.values():
        if attribute.required and attribute.code not in given:
            raise Open311Error(400, f"attribute[{attribute.code}]: required for service {category.code}.")
    return given


def _attribute_value(attribute, values):
    code = f"attribute[{attribute.code}]"
    keys = {k for k, _ in attribute.values}
    if attribute.datatype == "multivaluelist":
        if any(v not in keys for v in values):
            raise Open311Error(400, f"{code}: one of {', '.join(sorted(keys))}.")
        return sorted(set(values))
    if len(values) > 1:
        raise Open311Error(400, f"{code}: one value only.")
    value = values[0]
    if attribute.datatype == "singlevaluelist" and value not in keys:
        raise Open311Error(400, f"{code}: one of {', '.join(sorted(keys))}.")
    if attribute.datatype == "number":
        try:
            number = float(value)
        except ValueError:
            raise Open311Error(400, f"{code}: a number is expected.") from None
        if not math.isfinite(number):
            raise Open311Error(400, f"{code}: a number is expected.")
    if attribute.code == "component_id" and not COMPONENT_ID.match(value):
        raise Open311Error(400, f"{code}: 16 digits.")
    return value
