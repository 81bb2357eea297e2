"""Shared handling (主办/协办): a case that no single department can solve.

The dispatcher names the lead department (the case's department, 主办) and up to
MAX_ASSISTING assisting ones (协办) with a dispatch, a re-route or an
arbitration (`assisting`: department codes). Each assisting department has a
part with two clocks of its own, kept as stage rows that it owns:

    assist_ack           it signs for its part (签收), from the dispatch, on the
                         acknowledge limit of the case's urgency
    assist_handle        it does its part and reports it with a note and photos,
                         from its acknowledgement, on the handle limit

each counted on the assisting department's own working hours. The lead marks
the case handled once every part is in; before that it may go on without the
missing parts with a reason (waive_assists: they end as "waived"). A return
withdraws the open parts (the case goes back to be routed); a re-route keeps
them unless it names another list; parking stops them and the resumption starts
them again where they were. The evaluation counts each department's own part
(stats/evaluation.py); the case's six stages stay the lead's.

`part_changes` says what each action does to the parts, once: the workflow's
live path (cases/stages.py `advance`) and the rebuild from the events both ask it.
"""
from dataclasses import dataclass

from ..errors import ApiError
from .steps import WorkflowError

# A part's stage → the stage whose limit it runs on.
PART_STAGES = {"assist_ack": "acknowledge", "assist_handle": "handle"}
MAX_ASSISTING = 5


@dataclass(frozen=True)
class Part:
    """The latest stage row of one department's part."""
    department_id: int
    stage: str
    running: bool
    outcome: str | None


def _get(row, name):
    return row[name] if isinstance(row, dict) else getattr(row, name)


def latest_parts(rows):
    """{department id: Part} from a case's stage rows (CaseStage objects or the rebuild's dicts), in id order."""
    parts = {}
    for row in rows:
        if _get(row, "stage") in PART_STAGES:
            parts[_get(row, "owner_id")] = Part(_get(row, "owner_id"), _get(row, "stage"),
                                                _get(row, "done_at") is None, _get(row, "outcome"))
    return parts


def open_parts(case):
    return {d: part for d, part in latest_parts(case.stages).items() if part.running}


def parts_started_by(case, event):
    """The ids of the departments whose part `event` (just applied) started: who must hear of it."""
    return sorted({row.owner_id for row in case.stages if row.stage in PART_STAGES
                   and row.started_at == event.created_at and row.done_at is None})


def part_changes(action, data, parts, lead_id, codes, dispatching):
    """What `action` (with its event `data`) does to the parts `parts`
    ({department id: Part}): a list of (department id, outcome it ends its running
    stage with or None, the stage it starts or None). `codes`: department code → id."""
    running = {d: part for d, part in parts.items() if part.running}
    if action in dispatching:
        wanted = ([codes[code] for code in data["assisting"] if code in codes] if "assisting" in data
                  else list(running))  # a re-route that names no list keeps the parts going
        wanted = [d for d in wanted if d != lead_id]
        return ([(d, "withdrawn", None) for d in running if d not in wanted]
                + [(d, None, "assist_ack") for d in wanted if d not in running])
    if action == "return":
        return [(d, "withdrawn", None) for d in running]
    if action == "waive_assists":
        return [(d, "waived", None) for d in running]
    if action == "approve_park":
        return [(d, "parked", None) for d in running]
    if action == "resume":
        return [(d, None, part.stage) for d, part in parts.items() if not part.running and part.outcome == "parked"]
    department = codes.get(data.get("part"))
    if action == "assist_acknowledge" and department in running:
        return [(department, "done", "assist_handle")]
    if action == "assist_report" and department in running:
        return [(department, "done", None)]
    return []


# -- the checks ---------------------------------------------------------------------------

def check_assisting(rule, case, department, assisting):
    """The assisting departments named with a dispatching action (422 otherwise)."""
    if assisting is None:
        return
    if not rule.dispatch_options:
        raise ApiError(422, "invalid", "Assisting departments can only be named when dispatching, re-routing or "
                       "arbitrating a case.", "assisting")
    lead = department.id if department is not None else case.department_id
    if lead is None:
        raise ApiError(422, "department_required", "Name the lead department (主办) before assisting ones.",
                       "department")
    if len(assisting) > MAX_ASSISTING:
        raise ApiError(422, "too_many", f"At most {MAX_ASSISTING} assisting departments.", "assisting")
    if len({d.id for d in assisting}) != len(assisting):
        raise ApiError(422, "invalid", "An assisting department is named twice.", "assisting")
    if any(d.id == lead for d in assisting):
        raise ApiError(422, "invalid", "The lead department cannot also assist.", "assisting")


def part_refusal(rule, case, actor):
    """The 409 of a part's step or of the lead's handling while parts are open, or
    None. Both the check and allowed_actions ask this."""
    if rule.part is None and rule.action != "handle":
        return None
    running = open_parts(case)
    if rule.action == "handle" and running:
        return WorkflowError(409, "assists_pending", "The assisting departments have not reported their part yet; "
                             "wait for them, or go on without them with a reason (waive_assists).", case)
    if rule.part == "waive" and not running:
        return WorkflowError(409, "no_assists_pending", "No assisting department's part is open.", case)
    mine = running.get(getattr(actor, "department_id", None))
    if rule.part == "acknowledge" and mine is not None and mine.stage != "assist_ack":
        return WorkflowError(409, "part_acknowledged", "Your department has acknowledged its part already.", case)
    if rule.part == "report" and mine is not None and mine.stage != "assist_handle":
        return WorkflowError(409, "part_not_acknowledged", "Acknowledge your department's part first.", case)
    return None


# -- reading ----------------------------------------------------------------------------------

def parts_to_dict(case, viewer, notes=None):
    """Each assisting department's part: its status and its two clocks; `notes`
    ({department code: (note, photos)}) from its latest report, for those who see the case in full."""
    from ..extensions import db
    from ..grids.models import Department
    from ..timeutil import isoformat

    rows = {}
    for row in case.stages:
        if row.stage in PART_STAGES:
            rows.setdefault(row.owner_id, {})[row.stage] = row  # the latest round of each
    out = []
    for department_id, stages in rows.items():
        department = db.session.get(Department, department_id)
        ack, work = stages.get("assist_ack"), stages.get("assist_handle")
        if work is not None and ack is not None and work.started_at < ack.started_at:
            work = None  # a part asked for again: its handling is still to come
        latest = work or ack

        def clock(row):
            return None if row is None else {"started_at": isoformat(row.started_at), "due_at": isoformat(row.due_at),
                                             "done_at": isoformat(row.done_at), "on_time": row.on_time}
        part = {"department": department.to_brief() if department else None, "status": _status(latest),
                "acknowledge": clock(ack), "handle": clock(work),
                "mine": bool(viewer.is_authenticated and viewer.department_id == department_id)}
        if notes is not None and department is not None:
            part["note"], part["photos"] = notes.get(department.code, (None, 0))
        out.append(part)
    return out


def _status(row):
    if row.done_at is None:
        return "waiting" if row.stage == "assist_ack" else "working"
    if row.outcome == "done":
        return "reported" if row.stage == "assist_handle" else "working"
    return row.outcome  # waived, withdrawn or parked


def reported_notes(events):
    """{department code: (note, photos)} of the latest part report of each department."""
    notes = {}
    for event in events:
        if event.action == "assist_report":
            data = event.data or {}
            notes[data.get("part")] = (event.note, data.get("photos", 0))
    return notes
