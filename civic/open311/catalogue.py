"""Services are the active categories: service_code = category code, group = its
CJ/T 214 class, keywords from its names. Attributes are data-driven per kind: a
component (部件) asks which one and what is wrong with it, an event (事件) how
large it is."""
import re
from dataclasses import dataclass


from ..grids import catalogue


SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"


@dataclass(frozen=True)
class Attribute:
    code: str
    datatype: str  # string, number, datetime, text, singlevaluelist, multivaluelist
    description: str
    required: bool = False
    datatype_description: str = ""
    values: tuple = ()  # (key, name)
    order: int = 1
    variable: bool = True

    def as_dict(self):
        return {"variable": self.variable, "code": self.code, "datatype": self.datatype, "required": self.required,
                "datatype_description": self.datatype_description or None, "order": self.order,
                "description": self.description, "values": [{"key": k, "name": n} for k, n in self.values]}


ATTRIBUTES = {
    "component": (
        Attribute("component_id", "string", "部件编号 Component number (CJ/T 214)",
                  datatype_description="16 digits: county code (6), class (2), subclass (2), serial (6)", order=1),
        Attribute("damage", "singlevaluelist", "损坏情况 What is wrong with it", required=True, order=2,
                  values=(("missing", "缺失 missing"), ("broken", "破损 broken"), ("displaced", "移位 displaced"),
                          ("dirty", "污损 dirty"), ("other", "其他 other"))),
    ),
    "event": (
        Attribute("scale", "singlevaluelist", "规模 How large", order=1,
                  values=(("small", "较小 small"), ("medium", "一般 medium"), ("large", "较大 large"))),
    ),
}


COMPONENT_ID = re.compile(r"^\d{16}$")


def attributes_for(category):
    return ATTRIBUTES.get(category.kind, ())


def find_service(code):
    if not code or len(code) > 16:
        return None
    return catalogue.active_category(code)


def service_dict(category):
    kind = "部件 component" if category.kind == "component" else "事件 event"
    return {
        "service_code": category.code,
        "service_name": category.name_zh,
        "description": f"{category.name_zh} ({category.name_en}) · {category.class_name} · {kind}",
        "metadata": bool(attributes_for(category)),
        "type": "realtime",
        "keywords": ",".join(dict.fromkeys([category.name_zh, category.name_en, category.class_name, kind])),
        "group": category.class_name,
    }


def service_definition(category):
    return {"service_code": category.code, "attributes": [a.as_dict() for a in attributes_for(category)]}


UNITS = {"working_hours": "个工作时", "working_days": "个工作日", "calendar_hours": "小时"}


def service_notice(category):
    """The category's time limits, as civic/cases/deadlines.py applies them."""
    if category.urgent:
        return f"紧急：{category.ack_minutes} 分钟内签收，{category.resolve_limit} 小时内处置"
    unit = UNITS.get(category.resolve_unit, category.resolve_unit)
    return f"{category.ack_minutes} 个工作分钟内签收，{category.resolve_limit} {unit}内处置"
