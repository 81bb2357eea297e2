"""The gridded county: level-1 and level-2 grids, departments, the category
catalogue (CJ/T 214 classes) and per-grid routing overrides."""
from datetime import date, datetime

from sqlalchemy import Column, ForeignKey, String, Table, Text, event
from sqlalchemy import true as sa_true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..spatial import area_column_type
from ..timeutil import utcnow

grid_members = Table(
    "grid_members",
    db.metadata,
    Column("grid_id", ForeignKey("grids.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
)


class Grid(db.Model):
    __tablename__ = "grids"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    level: Mapped[int] = mapped_column(index=True)  # 1 or 2
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("grids.id"), index=True)
    street: Mapped[str | None] = mapped_column(String(100))  # 街道/乡镇 the grid belongs to
    polygon = mapped_column(area_column_type(), nullable=False)
    chief_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # "grid" (a level-2 grid or a level-1 area), "road" (a street chief's segment: a line
    # imported with a buffer) or "scenic" (a scenic area): the street-chief scheme.
    kind: Mapped[str] = mapped_column(String(16), default="grid", server_default="grid")
    # A retired grid takes no new cases and is left out of the map; its cases keep it.
    active: Mapped[bool] = mapped_column(default=True, server_default=sa_true())
    retired_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    parent = relationship("Grid", remote_side=[id], back_populates="children")
    children = relationship("Grid", back_populates="parent")
    chief = relationship("User", foreign_keys=[chief_id])
    members = relationship("User", secondary=grid_members, back_populates="grids")

    def to_brief(self):
        return {"code": self.code, "name": self.name}


class Department(db.Model):
    __tablename__ = "departments"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str | None] = mapped_column(String(100))
    liaison_group: Mapped[str | None] = mapped_column(String(200))
    webhook_url: Mapped[str | None] = mapped_column(Text)
    webhook_kind: Mapped[str | None] = mapped_column(String(16))     # wecom | dingtalk | feishu (else from the host)
    webhook_secret: Mapped[str | None] = mapped_column(String(200))  # DingTalk / Feishu signing secret
    phone: Mapped[str | None] = mapped_column(String(20))
    # '08:30-12:00,13:30-17:30' (cases.deadlines.parse_working_hours); None: the county's CIVIC_WORKING_HOURS
    working_hours: Mapped[str | None] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(default=True)
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))

    staff = relationship("User", back_populates="department")

    def to_brief(self):
        return {"code": self.code, "name": self.name}


# CJ/T 214 top classes: 部件 (components) and 事件 (events), code → Chinese name.
COMPONENT_CLASSES = {"01": "公用设施", "02": "道路交通", "03": "市容环境", "04": "园林绿化", "05": "房屋土地", "06": "其他"}
EVENT_CLASSES = {"01": "市容环境", "02": "宣传广告", "03": "施工管理", "04": "突发事件", "05": "街面秩序", "06": "其他"}
RESOLVE_UNITS = ("working_hours", "working_days", "calendar_hours")


class Category(db.Model):
    __tablename__ = "categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    kind: Mapped[str] = mapped_column(String(10))  # "component" (部件) or "event" (事件)
    class_code: Mapped[str] = mapped_column(String(4))
    name_zh: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    ack_minutes: Mapped[int] = mapped_column(default=30)
    resolve_limit: Mapped[int] = mapped_column(default=1)
    resolve_unit: Mapped[str] = mapped_column(String(16), default="working_days")
    # Its usual urgency level (cases/urgency.py): emergency (紧急), urgent (较急), normal
    # (一般) or complex (复杂); a dispatcher may set another for one case.
    urgency: Mapped[str] = mapped_column(String(16), default="normal", server_default="normal")
    after_photo_required: Mapped[bool] = mapped_column(default=True)
    icon: Mapped[str | None] = mapped_column(String(32))
    sort_order: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)

    department = relationship("Department")

    @property
    def class_name(self):
        classes = COMPONENT_CLASSES if self.kind == "component" else EVENT_CLASSES
        return classes.get(self.class_code, "其他")

    def to_brief(self):
        return {"code": self.code, "name": self.name_zh, "name_en": self.name_en}

    @property
    def urgent(self):
        """紧急: its clocks run on calendar time (the emergency level)."""
        return self.urgency == "emergency"

    @urgent.setter
    def urgent(self, value):
        if value:
            self.urgency = "emergency"
        elif self.urgency in (None, "emergency"):
            self.urgency = "normal"


class RoutingRule(db.Model):
    """谁主管谁负责: for a category (or every category) in a scope, the department
    that answers. Scopes, most specific first: a grid (level 2, then its level-1
    parent), a street (街道/乡镇), everywhere; the category's own default department
    comes between a rule for that category everywhere and a rule for every category
    everywhere (grids/routing.py decides). `key` names scope and category, so one
    scope and category has one rule, whatever the order of parallel requests."""

    __tablename__ = "routing_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(160), unique=True)
    scope: Mapped[str] = mapped_column(String(8), default="grid")  # grid | street | all
    grid_id: Mapped[int | None] = mapped_column(ForeignKey("grids.id", ondelete="CASCADE"), index=True)
    street: Mapped[str | None] = mapped_column(String(100))
    category_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id", ondelete="CASCADE"))
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    liaison_group: Mapped[str | None] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    grid = relationship("Grid")
    category = relationship("Category")
    department = relationship("Department")

    def scope_key(self):
        where = (f"grid:{self.grid_id}" if self.grid_id is not None
                 else f"street:{self.street}" if self.street else "all")
        return f"{where}|category:{self.category_id if self.category_id is not None else '*'}"


@event.listens_for(RoutingRule, "before_insert")
@event.listens_for(RoutingRule, "before_update")
def _name_the_scope(mapper, connection, rule):
    # Here, not in a service: every way a rule is written (the page, the command, an
    # import, a test) gets the same scope and key, and the unique key then holds.
    rule.scope = "grid" if rule.grid_id is not None else "street" if rule.street else "all"
    rule.key = rule.scope_key()


class CalendarDay(db.Model):
    """A county's own word on a day, over the national holiday calendar
    (chinese-calendar): a holiday of a year the package does not know yet, a local
    make-up working day, a typhoon closure. `workday` False: no working time."""

    __tablename__ = "calendar_days"

    day: Mapped[date] = mapped_column(primary_key=True)
    workday: Mapped[bool]
    note: Mapped[str | None] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
