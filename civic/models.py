"""Every model, imported in one place so Alembic and the app see the whole schema."""
from .accounts.models import DeviceToken, LoginSession, OneTimeCode, Role, User  # noqa: F401
from .ratelimit_store import RateLimitCounter  # noqa: F401
from .cases.models import Case, CaseEvent, CaseFollower, Rating, Recheck, Channel, LocationSource, Status  # noqa: F401
from .devices.models import Device  # noqa: F401
from .grids.models import Category, Department, Grid, RoutingRule, grid_members  # noqa: F401
from .photos.models import Photo  # noqa: F401
from .notify.models import WebhookDelivery  # noqa: F401
from .push.models import NotificationPreference, PushDelivery, PushSubscription  # noqa: F401
from .posters.models import Poster  # noqa: F401
from .rewards.models import PointEntry, Redemption, RewardItem  # noqa: F401
from .stats.models import DailyCaseStats, DailyDimensionStats, KeywordStats  # noqa: F401
from .open311.models import ApiKey  # noqa: F401
from .admin.models import AuditEntry  # noqa: F401
