"""The stages of a case, each with its own clock and its own owner (GB/T 30428.4:
each post is measured on its own stage only).

    accept (受理/立案)     the dispatchers      from the report
    dispatch (派遣)        the dispatchers      from the acceptance
    acknowledge (签收)     the department       from the dispatch
    handle (处置)          the assignee, else the department, from the acknowledgement
    verify (核查)          the grid worker of the case's grid (the reporter when the
                           reporter is one of them), else the dispatchers, from the handling
    close (结案)           the dispatchers      at the verification

A stage's limit is its urgency level's (cases/urgency.py), counted on the owner's
clock (a department's working hours, the county's calendar) from the moment it
started. `MOVES` says which stages each workflow action ends and starts; the live
path (`opened`, `advance`, in the workflow's own transaction) and the rebuild from
the events (`rebuild`) both follow it. A stage that runs again (after a return, a
re-route, a rework, a reopening) is a new round; the case JSON shows each stage's
latest round. Whether a stage ended in time is decided here, once: the roll-ups
take the flag from the stage row (`on_time_of`).
"""
from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy import select

from ..extensions import db
from ..timeutil import isoformat
from . import urgency as levels
from .assists import PART_STAGES, latest_parts, part_changes
from .models import CaseEvent, CaseStage

STAGES = ("accept", "dispatch", "acknowledge", "handle", "verify", "close")
ORDER = {stage: n for n, stage in enumerate(STAGES)}
TABLE = CaseStage.__table__


@dataclass(frozen=True)
class Move:
    ends: tuple = ()       # running stages this action ends
    passes: tuple = ()     # stages it goes through at once when they are not running (started and ended now)
    starts: tuple = ()     # stages it starts
    outcome: str = "done"  # how the ended stages ended


MOVES = {
    "report": Move(starts=("accept",)),
    "accept": Move(ends=("accept",), starts=("dispatch",)),
    # Straight from the queue: the acceptance and the dispatch happen together.
    "dispatch": Move(ends=("accept", "dispatch"), passes=("dispatch",), starts=("acknowledge",)),
    # A supervisor's decision on a case returned twice ends its dispatch stage like a dispatch.
    "arbitrate": Move(ends=("accept", "dispatch"), passes=("dispatch",), starts=("acknowledge",)),
    "reject": Move(ends=("accept", "dispatch"), outcome="rejected"),
    "merge": Move(ends=("accept", "dispatch"), outcome="merged"),
    "acknowledge": Move(ends=("acknowledge",), starts=("handle",)),
    "handle": Move(ends=("handle",), starts=("verify",)),
    "verify": Move(ends=("verify",), passes=("close",)),
    "verify_fail": Move(ends=("verify",), starts=("handle",), outcome="failed"),
    # 退回: the department's stage ends as returned; the dispatchers route it again.
    "return": Move(ends=("acknowledge", "handle"), starts=("dispatch",), outcome="returned"),
    # 改派: the new department acknowledges on a clock of its own.
    "reroute": Move(ends=("acknowledge", "handle"), starts=("acknowledge",), outcome="rerouted"),
    "reopen": Move(starts=("acknowledge",)),
    # 挂账: the handling stops as "parked" (no clock runs while parked) and starts
    # again, on a fresh clock, when the case comes back.
    "approve_park": Move(ends=("handle",), outcome="parked"),
    "resume": Move(starts=("handle",)),
    "recheck_reopen": Move(ends=("verify",), starts=("acknowledge",), outcome="failed"),
}
# A rating or a recheck that closes a handled case ends its verification.
CLOSING = Move(ends=("verify",), passes=("close",))


def move_for(action, from_status, to_status):
    if action in ("rate", "recheck_uphold"):
        return CLOSING if from_status == "handled" and to_status == "closed" else None
    return MOVES.get(action)


# -- owners and clocks ------------------------------------------------------------

def owner_of(stage, case, session=None):
    """(owner kind, id) of `stage` for `case` as it is now."""
    if stage in ("acknowledge", "handle"):
        if stage == "handle" and case.assignee_id is not None:
            return "user", case.assignee_id
        if case.department_id is not None:
            return "department", case.department_id
        if case.assignee_id is not None:
            return "user", case.assignee_id
        return "dispatch", None
    if stage == "verify":
        worker = verifier_of(case, session)
        return ("user", worker) if worker is not None else ("dispatch", None)
    return "dispatch", None


def verifier_of(case, session=None):
    """The grid worker who checks the work on site: the reporter when the reporter
    is a grid worker of the case's grid, else the grid's first active grid worker."""
    from ..accounts.models import User
    from ..grids.models import grid_members

    session = session or db.session
    if case.grid_id is None:
        return None
    workers = (select(User.id).join(grid_members, grid_members.c.user_id == User.id)
               .where(grid_members.c.grid_id == case.grid_id, User.role == "grid_worker", User.active.is_(True)))
    if case.reporter_id is not None and session.execute(workers.where(User.id == case.reporter_id)).first():
        return case.reporter_id
    return session.execute(workers.order_by(User.id).limit(1)).scalar()


def due_of(stage, case, started_at, owner, app=None, department=None):
    """When `stage` of `case`, started at `started_at`, must end (None: no clock).
    An assisting department's part (`department`: its row) runs on the limit of the
    stage it stands for, on that department's working hours."""
    from .deadlines import clock_for

    limit = levels.limit_for(PART_STAGES.get(stage, stage), case.category, case.urgency, app)
    if limit is None:
        return None
    # The department's stages run on its working hours, whoever of it holds the case.
    if stage in ("acknowledge", "handle"):
        department = case.department
    return clock_for(app or current_app, department).due(started_at, limit)


def _row(stage, case, at, round_, *, ended=False, app=None, session=None, due=None, part_of=None):
    """A stage row; `part_of`: the assisting department (a row with id and
    working_hours) whose part this is, and which owns it."""
    owner = ("department", part_of.id) if part_of is not None else owner_of(stage, case, session)
    if due is None and not ended:
        due = due_of(stage, case, at, owner, app, department=part_of)
    return {"case_id": case.id, "stage": stage, "round": round_, "owner_kind": owner[0], "owner_id": owner[1],
            "urgency": case.urgency, "started_at": at, "due_at": due,
            "done_at": at if ended else None, "on_time": True if ended else None,
            "outcome": "done" if ended else None}


# -- the live path ------------------------------------------------------------------

def opened(case, at):
    """A new case: its accept stage, added to the case (written with it, no query)."""
    case.stages = [CaseStage(**{k: v for k, v in _row("accept", case, at, 1).items() if k != "case_id"})]


def advance(case, event, departments=None):
    """The stages `event` (an applied workflow action, not yet flushed) ends and
    starts, as changes to the case's stage rows written by the action's own flush
    (a batch of actions writes them together). Returns {stage: on_time} of the
    case's six stages it ended, which the roll-ups count. No other action can
    change them meanwhile: the workflow's conditional UPDATE of the case's status
    lets one action at a time move a case. `departments`: {code: Department} the
    event names as assisting ones (or whose part it is)."""
    _advance_parts(case, event, departments or {})
    move = move_for(event.action, event.from_status, event.to_status)
    if move is None:
        if event.action == "approve_extension":
            _move_due(case, "handle", case.resolve_due_at)
        if event.action == "set_urgency":
            _retime(case)
        return {}
    at, ended = event.created_at, {}
    rows = case.stages
    for row in rows:
        if row.stage in move.ends and row.done_at is None:
            row.done_at, row.outcome = at, move.outcome
            row.on_time = row.due_at is None or at <= row.due_at
            ended[row.stage] = row.on_time
    for stage in move.passes:
        if stage not in ended:
            _add(case, _row(stage, case, at, None, ended=True))
            ended[stage] = True
    for stage in move.starts:
        _add(case, _row(stage, case, at, None, due=_just_set(stage, case, event)))
    return ended


def _advance_parts(case, event, departments):
    """The assisting departments' parts the action ends and starts (cases/assists.py)."""
    from ..grids.models import Department
    from .workflow import DISPATCHING

    parts = latest_parts(case.stages)
    if not parts and not (event.data or {}).get("assisting"):
        return
    codes = {code: d.id for code, d in departments.items()}
    at = event.created_at
    for department_id, outcome, start in part_changes(event.action, event.data or {}, parts, case.department_id,
                                                      codes, DISPATCHING):
        if outcome is not None:
            for row in case.stages:
                if row.stage in PART_STAGES and row.owner_id == department_id and row.done_at is None:
                    row.done_at, row.outcome = at, outcome
                    row.on_time = row.due_at is None or at <= row.due_at
        if start is not None:
            # The session's own copy: the named departments are in it already (no query).
            _add(case, _row(start, case, at, None, part_of=db.session.get(Department, department_id)))


def _add(case, row):
    """A new round of its stage, numbered after the case's rounds of it."""
    row = {k: v for k, v in row.items() if k != "case_id"}
    row["round"] = 1 + sum(1 for r in case.stages if r.stage == row["stage"])
    case.stages.append(CaseStage(**row))


def _just_set(stage, case, event):
    """The deadline the action has just counted for the department's stage it
    starts (the case's own ack_due_at / resolve_due_at, on the same clock and
    limit as due_of): not counted twice, nor the department loaded again for it."""
    data = event.data or {}
    if stage == "acknowledge" and "ack_due_at" in data:
        return case.ack_due_at
    if stage == "handle" and "resolve_due_at" in data and event.action in ("acknowledge", "resume"):
        return case.resolve_due_at
    return None


def _retime(case):
    """The running stages timed again from their starts at the case's (new) urgency level."""
    from ..grids.models import Department

    for row in case.stages:
        if row.done_at is None:
            part_of = db.session.get(Department, row.owner_id) if row.stage in PART_STAGES else None
            row.due_at = due_of(row.stage, case, row.started_at, (row.owner_kind, row.owner_id), department=part_of)
            row.urgency = case.urgency


def _move_due(case, stage, due):
    for row in case.stages:
        if row.stage == stage and row.done_at is None:
            row.due_at = due


# -- reading ---------------------------------------------------------------------------

def stages_to_dict(case, viewer, show_people=True):
    """All six stages in order, each its latest round (nulls for one not started)."""
    latest = {}
    for row in case.stages:
        if row.stage not in latest or row.round > latest[row.stage].round:
            latest[row.stage] = row
    return [_stage_dict(stage, latest.get(stage), show_people) for stage in STAGES]


def _stage_dict(stage, row, show_people):
    if row is None:
        return {"stage": stage, "owner": None, "started_at": None, "due_at": None, "done_at": None,
                "on_time": None, "outcome": None}
    return {"stage": stage, "owner": owner_to_dict(row.owner_kind, row.owner_id, show_people),
            "started_at": isoformat(row.started_at), "due_at": isoformat(row.due_at),
            "done_at": isoformat(row.done_at), "on_time": row.on_time,
            "outcome": row.outcome}  # done, returned, rerouted, rejected, merged, failed or parked


def owner_to_dict(kind, owner_id, show_people=True):
    from ..accounts.models import User
    from ..grids.models import Department

    if kind == "department":
        department = db.session.get(Department, owner_id)
        return {"kind": kind, "id": owner_id, "name": department.name if department else None}
    if kind == "user":
        if not show_people:
            return {"kind": kind, "id": None, "name": None}
        user = db.session.get(User, owner_id)
        return {"kind": kind, "id": owner_id, "name": user.display_name if user else None}
    return {"kind": "dispatch", "id": None, "name": "指挥中心"}


def running_stage(case):
    """The latest of the case's six stages that has started and not ended, or None."""
    running = [row for row in case.stages if row.done_at is None and row.stage in ORDER]
    return max(running, key=lambda row: (ORDER[row.stage], row.id)) if running else None


# -- the rebuild from the events -----------------------------------------------------------

@dataclass
class _Replay:
    """A case between its events, as the stages need it."""
    id: int
    category: object
    urgency: str
    grid_id: int | None
    reporter_id: int | None
    department_id: int | None = None
    assignee_id: int | None = None
    resolve_due_at: object = None
    department: object = None
    rows: list = field(default_factory=list)


def rebuild(session=None, app=None):
    """Every case's stage rows again from its events (the migration that brought
    stages, `flask stats rebuild`): deleted and written anew, in the caller's
    transaction. `session`: a Session or a Connection. Reads only the columns it
    names. Returns the number of rows written."""
    from ..grids.models import Category, Department
    from .models import Case

    session = session or db.session
    app = app or current_app
    categories = {row.id: row for row in session.execute(
        select(Category.id, Category.urgency, Category.ack_minutes, Category.resolve_limit, Category.resolve_unit))}
    departments = {row.id: row for row in session.execute(
        select(Department.id, Department.code, Department.working_hours))}
    codes = {d.code: d.id for d in departments.values()}
    session.execute(TABLE.delete())
    cases = {row.id: row for row in session.execute(
        select(Case.id, Case.category_id, Case.urgency, Case.grid_id, Case.reporter_id, Case.department_id))}
    # A case starts at the level it had before its first change (the case row holds the last).
    first_level = {}
    for case_id, data in session.execute(select(CaseEvent.case_id, CaseEvent.data)
                                         .where(CaseEvent.action == "set_urgency").order_by(CaseEvent.id)):
        first_level.setdefault(case_id, (data or {}).get("from_urgency"))
    stmt = (select(CaseEvent.case_id, CaseEvent.action, CaseEvent.from_status, CaseEvent.to_status,
                   CaseEvent.data, CaseEvent.created_at)
            .order_by(CaseEvent.case_id, CaseEvent.id).execution_options(yield_per=5000))
    written, batch, state = 0, [], None
    for event in session.execute(stmt).all():
        if state is None or state.id != event.case_id:
            written += _flush(session, batch)
            batch = []
            known = cases[event.case_id]
            level = first_level.get(known.id) if first_level.get(known.id) in levels.LEVELS else known.urgency
            state = _Replay(known.id, categories[known.category_id], level, known.grid_id,
                            known.reporter_id, department_id=known.department_id)
            state.rows = batch
        _replay_event(state, event, departments, codes, app, session)
    written += _flush(session, batch)
    return written


def _flush(session, rows):
    if rows:
        session.execute(TABLE.insert(), rows)
    return len(rows)


def _replay_event(state, event, departments, codes, app, session):
    from .workflow import DISPATCHING  # the workflow imports this module

    data = event.data or {}
    if event.action == "report" and "department_id" in data:
        state.department_id = data["department_id"]
    if event.action in DISPATCHING:
        if data.get("department") in codes:
            state.department_id = codes[data["department"]]
        if "assignee_id" in data or event.action == "reroute":  # a re-route clears the assignee it does not name
            state.assignee_id = data.get("assignee_id")
    if event.action == "return":
        state.department_id = state.assignee_id = None
    state.department = departments.get(state.department_id)
    _replay_parts(state, event, departments, codes, app, session, DISPATCHING)
    if event.action == "set_urgency" and data.get("urgency") in levels.LEVELS:
        state.urgency = data["urgency"]
        for row in state.rows:
            if row["done_at"] is None:
                part_of = departments.get(row["owner_id"]) if row["stage"] in PART_STAGES else None
                row.update(urgency=state.urgency,
                           due_at=due_of(row["stage"], state, row["started_at"], None, app, department=part_of))
        return
    if event.action == "approve_extension" and data.get("until"):
        for row in state.rows:
            if row["stage"] == "handle" and row["done_at"] is None:
                row["due_at"] = _parse(data["until"])
        return
    move = move_for(event.action, event.from_status, event.to_status)
    if move is None:
        return
    at, ended = event.created_at, set()
    for stage in move.ends:
        for row in state.rows:
            if row["stage"] == stage and row["done_at"] is None:
                row.update(done_at=at, outcome=move.outcome, on_time=row["due_at"] is None or at <= row["due_at"])
                ended.add(stage)
    for stage in move.passes:
        if stage not in ended:
            state.rows.append(_row_for(stage, state, at, app, session, ended=True))
    for stage in move.starts:
        state.rows.append(_row_for(stage, state, at, app, session))


def _replay_parts(state, event, departments, codes, app, session, dispatching):
    """The parts' rows as `_advance_parts` writes them live, from the same rule."""
    at = event.created_at
    for department_id, outcome, start in part_changes(event.action, event.data or {}, latest_parts(state.rows),
                                                      state.department_id, codes, dispatching):
        if outcome is not None:
            for row in state.rows:
                if row["stage"] in PART_STAGES and row["owner_id"] == department_id and row["done_at"] is None:
                    row.update(done_at=at, outcome=outcome, on_time=row["due_at"] is None or at <= row["due_at"])
        if start is not None:
            state.rows.append(_row_for(start, state, at, app, session, part_of=departments.get(department_id)))


def _row_for(stage, state, at, app, session, ended=False, part_of=None):
    row = _row(stage, state, at, None, ended=ended, app=app, session=session, part_of=part_of)
    row["round"] = 1 + sum(1 for r in state.rows if r["stage"] == stage)
    return row


def _parse(value):
    from datetime import datetime, timezone

    return datetime.fromisoformat(value).astimezone(timezone.utc).replace(tzinfo=None)


def on_time_of(session=None):
    """{(case_id, stage, done_at): on_time} of every ended stage: what the roll-ups'
    rebuild counts as in time, as the live path does from `advance`."""
    session = session or db.session
    return {(row.case_id, row.stage, row.done_at): row.on_time for row in session.execute(
        select(TABLE.c.case_id, TABLE.c.stage, TABLE.c.done_at, TABLE.c.on_time).where(TABLE.c.done_at.is_not(None)))}


def ended_by(event, on_time):
    """{stage: on time} of the stages `event` (a row with case_id, action, statuses
    and created_at) ended, from `on_time_of`'s map."""
    move = move_for(event.action, event.from_status, event.to_status)
    if move is None:
        return {}
    found = {}
    for stage in (*move.ends, *move.passes):
        flag = on_time.get((event.case_id, stage, event.created_at))
        if flag is not None:
            found[stage] = flag
    return found
