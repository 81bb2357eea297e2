"""The standard catalogue: departments and CJ/T 214-style categories with
their default departments and time limits. Data, not code paths: a city loads
its own catalogue (or the newer GB/T 47678 codes) the same way.

Codes: C (部件 component) or E (事件 event) + 2-digit class + 2-digit subclass.
Time limits follow published local practice: e.g. 暴露垃圾 4 working hours,
道路积水 4 working hours, 私搭乱建 20 working days, a missing manhole cover on
site within 30 minutes and fixed within 6 hours.
"""
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ..extensions import db
from .models import Category, Department

# code, name, English name, liaison group
DEPARTMENTS = [
    ("MUN", "市政工程服务中心", "Municipal Works Centre", "市政维修群"),
    ("SAN", "环境卫生服务中心", "Sanitation Centre", "环卫保洁调度群"),
    ("ENF", "城市管理综合执法局", "Urban Management Law Enforcement", "城管执法联络群"),
    ("TRF", "公安局交通警察大队", "Traffic Police", "交警勤务群"),
    ("MKT", "市场监督管理局", "Market Supervision", "市场监管联络群"),
    ("HOU", "住房和城乡建设局", "Housing and Urban-Rural Development", "住建工地监管群"),
    ("PWR", "国网供电公司", "State Grid Power Supply", "供电抢修群"),
    ("LND", "园林绿化服务中心", "Landscaping Centre", "园林养护群"),
    ("WAT", "自来水公司", "Water Supply Company", "供水抢修群"),
    ("GAS", "燃气公司", "Gas Company", "燃气抢险群"),
    ("FIR", "消防救援大队", "Fire and Rescue", "消防联络群"),
    ("PSB", "公安局", "Public Security Bureau", "治安联络群"),
    ("ECO", "生态环境分局", "Ecology and Environment", "环保监察群"),
    ("TRN", "交通运输局", "Transport Bureau", "交通运输联络群"),
    ("BUS", "公交公司", "Public Bus Company", "公交站亭维护群"),
    ("TEL", "中国电信分公司", "China Telecom", "通信线路群"),
    ("UNI", "中国联通分公司", "China Unicom", "通信线路群"),
    ("MOB", "中国移动分公司", "China Mobile", "通信线路群"),
    ("CIV", "民政局", "Civil Affairs Bureau", "救助站联络群"),
    ("CUL", "文化和旅游局", "Culture and Tourism Bureau", "文旅联络群"),
    ("AIR", "人民防空办公室", "Civil Air Defence Office", "人防联络群"),
    ("NRP", "自然资源和规划局", "Natural Resources and Planning", "规划联络群"),
    ("WTR", "水利局", "Water Resources Bureau", "河长制联络群"),
    ("SPT", "体育事业发展中心", "Sports Centre", "健身设施维护群"),
]

WH, WD, CH = "working_hours", "working_days", "calendar_hours"

# code, name, English name, department, ack minutes, resolve limit, unit, urgent, after-photo expected
CATEGORIES = [
    # 部件 01 公用设施
    ("C0101", "上水井盖", "Water main manhole cover", "WAT", 30, 6, CH, True, True),
    ("C0102", "污水井盖", "Sewer manhole cover", "MUN", 30, 6, CH, True, True),
    ("C0103", "雨水井盖", "Storm drain manhole cover", "MUN", 30, 6, CH, True, True),
    ("C0104", "雨水箅子", "Storm drain grate", "MUN", 60, 1, WD, False, True),
    ("C0105", "电力井盖", "Power manhole cover", "PWR", 30, 6, CH, True, True),
    ("C0106", "路灯井盖", "Street-light manhole cover", "MUN", 30, 6, CH, True, True),
    ("C0107", "电信井盖", "Telecom manhole cover", "TEL", 30, 6, CH, True, True),
    ("C0111", "燃气井盖", "Gas manhole cover", "GAS", 15, 4, CH, True, True),
    ("C0113", "消防设施", "Fire hydrant or equipment", "FIR", 30, 1, WD, False, True),
    ("C0114", "不明井盖", "Unidentified manhole cover", "MUN", 30, 6, CH, True, True),
    ("C0116", "电力设施", "Power equipment", "PWR", 60, 1, WD, False, True),
    ("C0117", "电杆", "Utility pole", "PWR", 60, 2, WD, False, True),
    ("C0118", "路灯", "Street light", "MUN", 60, 2, WD, False, True),
    ("C0121", "报刊亭", "News kiosk", "CUL", 60, 3, WD, False, True),
    ("C0126", "健身设施", "Fitness equipment", "SPT", 60, 3, WD, False, True),
    # 部件 02 道路交通
    ("C0201", "停车场", "Car park", "TRF", 60, 3, WD, False, True),
    ("C0203", "公交站亭", "Bus shelter", "BUS", 60, 3, WD, False, True),
    ("C0205", "过街天桥", "Footbridge", "MUN", 60, 3, WD, False, True),
    ("C0206", "地下通道", "Underpass", "MUN", 60, 3, WD, False, True),
    ("C0209", "交通标志牌", "Traffic sign", "TRF", 60, 2, WD, False, True),
    ("C0211", "交通护栏", "Traffic barrier", "TRF", 60, 2, WD, False, True),
    ("C0212", "存车支架", "Bicycle rack", "ENF", 60, 3, WD, False, True),
    ("C0213", "路名牌", "Street name sign", "NRP", 60, 5, WD, False, True),
    ("C0214", "交通信号灯", "Traffic light", "TRF", 30, 4, WH, False, True),
    # 部件 03 市容环境
    ("C0301", "公共厕所", "Public toilet", "SAN", 60, 4, WH, False, True),
    ("C0304", "垃圾间", "Refuse room", "SAN", 60, 1, WD, False, True),
    ("C0305", "垃圾箱", "Litter bin", "SAN", 60, 1, WD, False, True),
    ("C0306", "灯箱霓虹灯", "Light box or neon sign", "ENF", 60, 3, WD, False, True),
    ("C0307", "广告牌匾", "Shop sign or billboard", "ENF", 60, 5, WD, False, True),
    # 部件 04 园林绿化
    ("C0401", "古树名木", "Heritage tree", "LND", 60, 2, WD, False, True),
    ("C0402", "行道树", "Street tree", "LND", 60, 2, WD, False, True),
    ("C0403", "树池箅子", "Tree pit grate", "LND", 60, 2, WD, False, True),
    ("C0405", "绿地", "Green space", "LND", 60, 2, WD, False, True),
    ("C0406", "雕塑", "Sculpture", "LND", 60, 5, WD, False, True),
    ("C0407", "街头座椅", "Street bench", "LND", 60, 3, WD, False, True),
    # 部件 05 房屋土地
    ("C0501", "宣传栏", "Notice board", "ENF", 60, 3, WD, False, True),
    ("C0502", "人防工事", "Civil air defence works", "AIR", 60, 5, WD, False, True),
    ("C0503", "公房地下室", "Public housing basement", "HOU", 60, 5, WD, False, True),
    # 事件 01 市容环境
    ("E0101", "私搭乱建", "Illegal structure", "ENF", 60, 20, WD, False, True),
    ("E0102", "暴露垃圾", "Exposed rubbish", "SAN", 30, 4, WH, False, True),
    ("E0103", "积存垃圾渣土", "Piled rubbish or spoil", "SAN", 60, 1, WD, False, True),
    ("E0104", "道路不洁", "Dirty road", "SAN", 30, 2, WH, False, True),
    ("E0105", "水域不洁", "Dirty waterway", "WTR", 60, 1, WD, False, True),
    ("E0106", "绿地脏乱", "Littered green space", "LND", 60, 1, WD, False, True),
    ("E0107", "废弃车辆", "Abandoned vehicle", "TRF", 60, 5, WD, False, True),
    ("E0108", "废弃家具设备", "Dumped furniture", "SAN", 60, 1, WD, False, True),
    ("E0111", "道路积水", "Flooded road", "MUN", 30, 4, WH, False, True),
    ("E0112", "积雪结冰", "Snow or ice", "SAN", 30, 4, WH, False, True),
    ("E0115", "乱倒污水", "Dumped waste water", "ENF", 60, 1, WD, False, True),
    ("E0127", "焚烧垃圾树叶", "Burning rubbish or leaves", "ECO", 30, 2, WH, False, True),
    ("E0141", "油烟污染", "Cooking fume pollution", "ECO", 60, 3, WD, False, True),
    # 事件 02 宣传广告
    ("E0201", "非法小广告", "Illegal flyers", "ENF", 60, 1, WD, False, True),
    ("E0202", "违规广告牌匾", "Non-compliant sign", "ENF", 60, 5, WD, False, True),
    ("E0203", "占道广告牌", "Sign blocking the road", "ENF", 60, 1, WD, False, True),
    ("E0204", "街头散发广告", "Leafleting", "ENF", 30, 2, WH, False, False),
    ("E0205", "标语宣传品损毁", "Damaged banner", "ENF", 60, 1, WD, False, True),
    # 事件 03 施工管理
    ("E0301", "施工扰民", "Construction noise", "HOU", 30, 2, WH, False, False),
    ("E0302", "工地扬尘", "Construction dust", "HOU", 30, 4, WH, False, True),
    ("E0303", "无证消纳渣土", "Unlicensed spoil dumping", "ENF", 60, 1, WD, False, True),
    ("E0304", "道路遗撒", "Spillage on the road", "ENF", 30, 4, WH, False, True),
    ("E0305", "施工废弃料", "Construction waste", "HOU", 60, 1, WD, False, True),
    ("E0306", "道路破损", "Damaged road surface", "MUN", 60, 3, WD, False, True),
    ("E0307", "工地未围挡", "Site without hoarding", "HOU", 60, 1, WD, False, True),
    # 事件 04 突发事件
    ("E0401", "路面塌陷", "Road collapse", "MUN", 15, 6, CH, True, True),
    ("E0402", "自来水管破裂", "Burst water main", "WAT", 15, 6, CH, True, True),
    ("E0403", "燃气管道破裂", "Gas pipe leak", "GAS", 10, 4, CH, True, True),
    ("E0404", "下水道堵塞", "Blocked sewer", "MUN", 30, 8, CH, True, True),
    ("E0406", "架空线缆不规范", "Loose overhead cables", "TEL", 60, 5, WD, False, True),
    ("E0411", "火灾", "Fire", "FIR", 5, 2, CH, True, True),
    # 事件 05 街面秩序
    ("E0501", "无照经营游商", "Unlicensed street vendor", "ENF", 30, 2, WH, False, False),
    ("E0502", "流浪乞讨", "Homeless person or begging", "CIV", 30, 4, WH, False, False),
    ("E0504", "店外经营", "Trading outside the shop", "ENF", 30, 4, WH, False, True),
    ("E0505", "机动车乱停放", "Illegally parked car", "TRF", 30, 2, WH, False, True),
    ("E0506", "非机动车乱停放", "Badly parked bikes", "ENF", 30, 4, WH, False, True),
    ("E0507", "乱堆物堆料", "Goods piled on the street", "ENF", 60, 1, WD, False, True),
    ("E0508", "商业噪音", "Commercial noise", "ENF", 30, 2, WH, False, False),
    ("E0510", "露天烧烤", "Open-air barbecue", "ENF", 30, 2, WH, False, True),
    ("E0598", "占压盲道", "Blocked tactile paving", "ENF", 30, 4, WH, False, True),
    ("E0599", "其它街面秩序", "Other street order", None, 60, 1, WD, False, True),
    # 事件 06 其他 (common in grid work)
    ("E0601", "占用消防通道", "Fire lane blocked", "FIR", 15, 2, CH, True, True),
    ("E0602", "犬只未牵绳", "Dog off lead", "PSB", 30, 4, WH, False, False),
    ("E0603", "共享单车乱象", "Shared bikes in disorder", "TRN", 30, 4, WH, False, True),
    ("E0604", "垃圾未分类", "Rubbish not sorted", "SAN", 60, 1, WD, False, True),
    ("E0605", "垃圾箱满溢", "Overflowing bin", "SAN", 30, 2, WH, False, True),
]

ICONS_BY_CLASS = {
    ("component", "01"): "utility", ("component", "02"): "traffic", ("component", "03"): "bin",
    ("component", "04"): "tree", ("component", "05"): "building",
    ("event", "01"): "litter", ("event", "02"): "flyer", ("event", "03"): "construction",
    ("event", "04"): "alert", ("event", "05"): "street", ("event", "06"): "other",
}


def load_catalogue():
    """Insert or update the departments and categories; returns (departments, categories) by code."""
    departments = {d.code: d for d in db.session.scalars(select(Department))}
    for code, name, name_en, group in DEPARTMENTS:
        department = departments.get(code) or Department(code=code)
        department.name, department.name_en, department.liaison_group = name, name_en, group
        departments[code] = department
        db.session.add(department)
    categories = {c.code: c for c in db.session.scalars(select(Category))}
    for order, row in enumerate(CATEGORIES):
        code, name, name_en, dept, ack, limit, unit, urgent, after_photo = row
        category = categories.get(code) or Category(code=code)
        category.kind = "component" if code[0] == "C" else "event"
        category.class_code = code[1:3]
        category.name_zh, category.name_en = name, name_en
        category.department = departments.get(dept) if dept else None
        category.ack_minutes, category.resolve_limit, category.resolve_unit = ack, limit, unit
        category.urgent, category.after_photo_required = urgent, after_photo
        category.icon = ICONS_BY_CLASS.get((category.kind, category.class_code), "other")
        category.sort_order = order
        categories[code] = category
        db.session.add(category)
    db.session.flush()
    return departments, categories


def active_categories():
    """The categories a report may be filed under, in the catalogue's order: the
    phone's list, the hotline form, the board's filter, Open311's services."""
    return db.session.scalars(select(Category).where(Category.active.is_(True))
                              .order_by(Category.sort_order, Category.code)).all()


def active_category(code):
    """The active category with this code, or None."""
    if not isinstance(code, str):
        return None
    # With its default department: routing falls back to it, in the same read.
    return db.session.scalar(select(Category).options(joinedload(Category.department))
                             .where(Category.code == code, Category.active.is_(True)))
