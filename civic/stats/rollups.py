"""Keeping the daily roll-up (stats_daily) in step with the case events.

One function, `replay_step`, says what an event adds and to which row; the live
path (a signal receiver, in the transaction that writes the event) and the
rebuild (every event again, case by case) both use it, so they cannot disagree.

Which row an event counts in:
- day: the local date (TIMEZONE) of the event's time;
- grid and category: the case's (intake sets them; no action changes them);
- department: the case's after the event (a dispatch or re-route counts for the
  department it sends the case to), except `return` (退回), which counts against
  the department that gave the case back. 0 when there is none.

On time (deadlines as the case had them at that moment, set in working time by
civic/cases/deadlines.py at intake and again on reopen / re-route, moved by an
approved extension): acknowledged on time when the acknowledge event's time <=
ack_due_at; handled on time when the handle event's time <= resolve_due_at, or
when the case has no resolve deadline. The minutes to acknowledge and to resolve
are wall-clock minutes from the case's arrival at the department (its last
dispatch, re-route or reopen) to the acknowledge / handle event.

A case's starting department and deadlines come from its "report" event
(open_case records them). Cases reported before that (and the demo seed's,
written directly) start from the case's present department and deadlines:
exact unless the department or the deadlines have changed since, e.g. a case
returned, reopened or given more time. The demo seed calls `rebuild` at its end.
"""
import bisect
import functools
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import Date, bindparam, delete, select, text

from ..cases import stages
from ..cases.models import Case, CaseEvent
from ..cases.workflow import DISPATCHING
from ..extensions import db
from ..grids.models import Department
from ..timeutil import local_zone
from ..transaction import unit_of_work
from .keywords import keywords
from .models import (ACK_BUCKETS, ALL_COUNTERS, BUCKET_EDGES, KEY, RESOLVE_BUCKETS, DailyCaseStats,
                     DailyDimensionStats, KeywordStats)

TABLE = DailyCaseStats.__table__
BY_TABLE = DailyDimensionStats.__table__
KEYWORDS = KeywordStats.__table__
BATCH = 5000


@dataclass
class CaseState:
    """What the counters need to know about a case between its events."""
    department_id: int | None
    grid_id: int | None
    category_id: int
    dispatched_at: datetime | None
    ack_due_at: datetime | None
    resolve_due_at: datetime | None


def bucket(minutes):
    return bisect.bisect_left(BUCKET_EDGES, minutes)


def _minutes(at, since):
    return None if since is None else max(0, int((at - since).total_seconds() // 60))


def _parse(value):
    return None if value is None else datetime.fromisoformat(value).astimezone(timezone.utc).replace(tzinfo=None)


def replay_step(state, action, from_status, to_status, data, at, department_ids, ended=None):
    """(department the event counts for, {counter: n}) and `state` moved past the event.
    `department_ids` maps department codes (as dispatch data names them) to ids.
    `ended`: {stage: on time} of the case stages the event ended (cases/stages.py),
    which decide "in time"; without it (no stage rows) the deadlines the case had."""
    data = data or {}
    ended = ended or {}
    n = {}
    department = state.department_id
    if action == "report":
        n["reported"] = 1
    elif action == "accept":
        n["accepted"] = 1
    elif action in ("reject", "merge"):
        n["rejected"] = 1
    elif action in DISPATCHING:
        if from_status == "reported":
            n["accepted"] = 1  # dispatched straight from the queue: accepted as valid too
        n["dispatched"] = 1
        if data.get("department") is not None:
            state.department_id = department = department_ids.get(data["department"], department)
        state.dispatched_at = at
    elif action in ("reopen", "recheck_reopen"):
        n["reopened"] = 1
        state.dispatched_at = at
    elif action == "return":
        n["returned"] = 1
        state.department_id, state.dispatched_at = None, None
    elif action == "acknowledge":
        n["acknowledged"] = 1
        n["acknowledged_on_time"] = int(ended.get("acknowledge", state.ack_due_at is None or at <= state.ack_due_at))
        _timing(n, "ack", _minutes(at, state.dispatched_at), ACK_BUCKETS)
    elif action == "handle":
        n["handled"] = 1
        n["handled_on_time"] = int(ended.get("handle",
                                             state.resolve_due_at is None or at <= state.resolve_due_at))
        _timing(n, "resolve", _minutes(at, state.dispatched_at), RESOLVE_BUCKETS)
    elif action == "verify_fail":
        n["rework"] = 1
    elif action == "rate" and data.get("rating") in ("satisfied", "basic", "unsatisfied"):
        n["ratings"] = 1
        n[data["rating"]] = 1
    elif action == "approve_extension" and data.get("until"):
        state.resolve_due_at = _parse(data["until"])
    for stage in ("accept", "dispatch"):
        if stage in ended:
            n[f"{stage}_stages"] = 1
            n[f"{stage}_stages_on_time"] = int(ended[stage])
    if action != "report":  # fresh clocks: a dispatch, re-route or reopening; the handling's on acknowledgement
        if "ack_due_at" in data:
            state.ack_due_at = _parse(data["ack_due_at"])
        if "resolve_due_at" in data:
            state.resolve_due_at = _parse(data["resolve_due_at"])
    if to_status == "closed" and from_status != "closed":
        n["closed"] = 1
    return department, {k: v for k, v in n.items() if v}


def _timing(n, name, minutes, buckets):
    if minutes is not None:
        n[f"{name}_minutes_sum"] = minutes
        n[buckets[bucket(minutes)]] = 1


def local_day(at, tz):
    return at.replace(tzinfo=timezone.utc).astimezone(tz).date()


def today():
    """Today's local date (TIMEZONE)."""
    from ..timeutil import utcnow

    return local_day(utcnow(), _zone())


def _zone():
    return local_zone()


def _key(day, department_id, state):
    return day, department_id or 0, state.grid_id or 0, state.category_id


# -- the live path -------------------------------------------------------------

def upsert(session, key, counts):
    """Add `counts` to the row `key` of stats_daily and to its three rows of
    stats_daily_by (the day's department, grid and category, for the key's
    department), a statement each: INSERT … ON CONFLICT DO UPDATE SET n = n +
    excluded.n, atomic on SQLite (≥ 3.24) and PostgreSQL, so two transactions
    adding to the same row both count. `session`: a Session or a Connection."""
    if not counts:
        return
    names = tuple(sorted(counts))
    values = {**dict(zip(KEY, key)), **counts}
    session.execute(_upsert_statement(names), values)
    session.execute(_upsert_by_statement(names), values)


def dimension_keys(key):
    """The (dimension, key_id, department_id) rows of stats_daily_by that a stats_daily key adds to."""
    _day, department_id, grid_id, category_id = key
    return (("department", department_id, department_id), ("grid", grid_id, department_id),
            ("category", category_id, department_id))


@functools.lru_cache(maxsize=512)
def _upsert_statement(names):
    """One statement per set of counters, built once. Plain SQL, the same on both
    backends: SQLAlchemy does not cache the compiled form of its dialects'
    on_conflict_do_update, and compiling it anew cost milliseconds an event."""
    return _adding_upsert("stats_daily", KEY, names)


@functools.lru_cache(maxsize=512)
def _upsert_by_statement(names):
    """The three rows of stats_daily_by in one statement, from stats_daily's parameters."""
    table, key = "stats_daily_by", ("day", "dimension", "key_id", "department_id")
    rows = ", ".join(f"(:day, '{dimension}', :{column}, :department_id, {', '.join(f':{c}' for c in names)})"
                     for dimension, column in (("department", "department_id"), ("grid", "grid_id"),
                                               ("category", "category_id")))
    adds = ", ".join(f"{c} = {table}.{c} + excluded.{c}" for c in names)
    return text(f"INSERT INTO {table} ({', '.join(key + names)}) VALUES {rows} "
                f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET {adds}").bindparams(bindparam("day", type_=Date))


def _adding_upsert(table, key, names):
    columns = ", ".join(key + names)
    values = ", ".join(f":{c}" for c in key + names)
    adds = ", ".join(f"{c} = {table}.{c} + excluded.{c}" for c in names)
    return text(f"INSERT INTO {table} ({columns}) VALUES ({values}) "
                f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET {adds}").bindparams(bindparam("day", type_=Date))


def add_keywords(session, day, department_id, words):
    """One more case for each of `words` (distinct) on `day` for the department, in
    one statement whatever their number. The rows are taken in the words' sorted
    order, the same in every transaction, so two reports sharing words wait for
    each other instead of deadlocking."""
    if words:
        values = {f"w{n}": word for n, word in enumerate(sorted(words))}
        session.execute(_keyword_upsert(len(words)), {"day": day, "department_id": department_id or 0, **values})


@functools.lru_cache(maxsize=32)
def _keyword_upsert(count):
    rows = ", ".join(f"(:day, :w{n}, :department_id, 1)" for n in range(count))
    return text(f"INSERT INTO stats_keywords (day, word, department_id, n) VALUES {rows} "
                "ON CONFLICT (day, word, department_id) DO UPDATE SET n = stats_keywords.n + 1"
                ).bindparams(bindparam("day", type_=Date))


def _live_state(case):
    return CaseState(case.department_id, case.grid_id, case.category_id, case.dispatched_at,
                     case.ack_due_at, case.resolve_due_at)


def on_case_opened(case, event, **_):
    """A new report: one more `reported` for its day, grid, category and routed
    department, and one more case for each keyword of its description. The case
    and its event are written first, so that the roll-up rows, which concurrent
    reports may share, stay locked only from here to the commit."""
    db.session.flush()
    state = _live_state(case)
    day = local_day(event.created_at, _zone())
    upsert(db.session, _key(day, state.department_id, state), {"reported": 1})
    add_keywords(db.session, day, state.department_id, keywords(case.description))


def on_action_applied(case, event, actor=None, rule=None, **_):
    """A workflow action, written in the same transaction as its event. The case
    holds its values after the action; only a return needs the department before
    it, which its history tells (returns are rare: one extra query)."""
    state = _live_state(case)
    if event.action == "return":
        state.department_id = _department_before(case.id, event)
    # The department a dispatch names is the one the case now has: no lookup by code.
    named = (event.data or {}).get("department")
    department, counts = replay_step(state, event.action, event.from_status, event.to_status, event.data,
                                     event.created_at, {named: case.department_id} if named else {},
                                     getattr(event, "stages_ended", None))
    upsert(db.session, _key(local_day(event.created_at, _zone()), department, state), counts)


def _department_ids():
    return dict(db.session.execute(select(Department.code, Department.id)).all())


def _department_before(case_id, event):
    db.session.flush()  # the return's own event gets its id: everything before it is its past
    case = db.session.get(Case, case_id)
    rows = db.session.execute(select(CaseEvent.action, CaseEvent.from_status, CaseEvent.to_status,
                                     CaseEvent.data, CaseEvent.created_at)
                              .where(CaseEvent.case_id == case_id, CaseEvent.id < event.id)
                              .order_by(CaseEvent.id)).all()
    state = _initial_state(case.department_id, case.grid_id, case.category_id, case.ack_due_at,
                           case.resolve_due_at, rows[0].data if rows and rows[0].action == "report" else None)
    names = _department_ids()
    for row in rows:
        replay_step(state, row.action, row.from_status, row.to_status, row.data, row.created_at, names)
    return state.department_id


def _initial_state(department_id, grid_id, category_id, ack_due_at, resolve_due_at, report_data):
    """A case as it was reported. Reports written since the statistics came carry
    their routing and deadlines; for older ones (and the demo seed) the case's
    present department and deadlines stand in."""
    data = report_data or {}
    state = CaseState(department_id, grid_id, category_id, None, ack_due_at, resolve_due_at)
    if "department_id" in data:
        state.department_id = data["department_id"]
        state.ack_due_at, state.resolve_due_at = _parse(data.get("ack_due_at")), _parse(data.get("resolve_due_at"))
    return state


# -- the rebuild -----------------------------------------------------------------

def rebuild():
    """Build every case's stages again from its events (cases/stages.py), then empty
    the roll-ups and count every event (and every description) again, in
    one unit of work of its own (a job; the CLI). Streams events case by case in
    batches of plain rows (no ORM objects); returns (events read, stats_daily rows
    written). Replayable and idempotent."""
    with unit_of_work():
        stages.rebuild(db.session)  # the stages' on-time flags are what the counters count
        return _refill(db.session)


def _refill(session):
    if session.get_bind().dialect.name == "postgresql":
        # Live upserts wait for us, so none is lost or counted twice around the refill.
        session.execute(text("LOCK TABLE stats_daily, stats_daily_by, stats_keywords IN EXCLUSIVE MODE"))
    for table in (TABLE, BY_TABLE, KEYWORDS):
        session.execute(delete(table))  # on SQLite the first takes the write lock, to the same end
    totals, events = _count_all(session)
    by_dimension = {}
    for key, counts in totals.items():
        for dimension, key_id, department_id in dimension_keys(key):
            into = by_dimension.setdefault((key[0], dimension, key_id, department_id), {})
            for name, value in counts.items():
                into[name] = into.get(name, 0) + value
    rows = [{**dict(zip(KEY, key)), **{c: counts.get(c, 0) for c in ALL_COUNTERS}} for key, counts in totals.items()]
    by_rows = [{"day": day, "dimension": dimension, "key_id": key_id, "department_id": department_id,
                **{c: counts.get(c, 0) for c in ALL_COUNTERS}}
               for (day, dimension, key_id, department_id), counts in by_dimension.items()]
    word_rows = [{"day": day, "word": word, "department_id": department_id, "n": n}
                 for (day, word, department_id), n in _count_keywords(session).items()]
    for table, batch in ((TABLE, rows), (BY_TABLE, by_rows), (KEYWORDS, word_rows)):
        for start in range(0, len(batch), BATCH):
            session.execute(table.insert(), batch[start:start + BATCH])
    return events, len(rows)


def _count_keywords(session):
    """{(day, word, department): cases} over every case's description, by the day
    it was reported and the department it was routed to then (as the live path
    counts it: the report event's, else the case's present department)."""
    tz, counts = _zone(), {}
    stmt = (select(Case.received_at, Case.description, Case.department_id, CaseEvent.data)
            .outerjoin(CaseEvent, (CaseEvent.case_id == Case.id) & (CaseEvent.action == "report"))
            .where(Case.description.is_not(None), Case.description != "")
            .execution_options(yield_per=BATCH))
    for received_at, description, department_id, report_data in session.execute(stmt):
        day = local_day(received_at, tz)
        department = (report_data or {}).get("department_id", department_id) or 0
        for word in keywords(description):
            counts[(day, word, department)] = counts.get((day, word, department), 0) + 1
    return counts


def _count_all(session):
    tz, names = _zone(), _department_ids()
    on_time = stages.on_time_of(session)
    stmt = (select(CaseEvent.case_id, CaseEvent.action, CaseEvent.from_status, CaseEvent.to_status,
                   CaseEvent.data, CaseEvent.created_at, Case.department_id, Case.grid_id, Case.category_id,
                   Case.ack_due_at, Case.resolve_due_at)
            .join(Case, Case.id == CaseEvent.case_id)
            .order_by(CaseEvent.case_id, CaseEvent.id)
            .execution_options(yield_per=BATCH))
    totals, events, current, state = {}, 0, None, None
    for row in session.execute(stmt):
        events += 1
        if row.case_id != current:
            current = row.case_id
            state = _initial_state(row.department_id, row.grid_id, row.category_id, row.ack_due_at,
                                   row.resolve_due_at, row.data if row.action == "report" else None)
        department, counts = replay_step(state, row.action, row.from_status, row.to_status, row.data,
                                         row.created_at, names, stages.ended_by(row, on_time))
        if counts:
            into = totals.setdefault(_key(local_day(row.created_at, tz), department, state), {})
            for name, value in counts.items():
                into[name] = into.get(name, 0) + value
    return totals, events
