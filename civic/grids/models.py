"""The gridded county: level-1 and level-2 grids, departments, the category
catalogue (CJ/T 214 classes) and per-grid routing overrides."""
from datetime import datetime

from sqlalchemy import Column, ForeignKey, String, Table, Text, UniqueConstraint
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
    active: Mapped[bool] = mapped_column(default=True)

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
    urgent: Mapped[bool] = mapped_column(default=False)
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


class RoutingRule(db.Model):
    """A per-grid override of a category's default department (谁主管谁负责 on a
    road segment handled by a street chief's liaison group, say). A rule with no
    category applies to every category in that grid."""

    __tablename__ = "routing_rules"
    __table_args__ = (UniqueConstraint("grid_id", "category_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    grid_id: Mapped[int] = mapped_column(ForeignKey("grids.id", ondelete="CASCADE"), index=True)
    category_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id", ondelete="CASCADE"))
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    liaison_group: Mapped[str | None] = mapped_column(String(200))

    grid = relationship("Grid")
    category = relationship("Category")
    department = relationship("Department")
