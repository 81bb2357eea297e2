"""Statistics roll-ups (issue 8): counters per local day, department, grid and
category, kept in step with the case events in the same transaction, so the
dashboards never scan the case table.

models.py   the roll-up table (stats_daily) and its counters
rollups.py  what one event adds (shared by the live path and the rebuild), the upsert, the rebuild
queries.py  reading figures from the roll-up only (department_performance)
"""


def install(app):
    """Keep the roll-ups in step with new reports and workflow actions."""
    from ..cases.services import case_opened
    from ..cases.workflow import action_applied
    from . import rollups

    action_applied.connect(rollups.on_action_applied)  # once: blinker keeps one connection per receiver
    case_opened.connect(rollups.on_case_opened)
