"""Chasing (催办/督办) with a frozen clock: reminders before a deadline, escalations
after it, each once per case and deadline, on the deadline's own clock."""
from datetime import datetime, timedelta, timezone

import time_machine

from sqlalchemy import select

from civic.cases import chasing
from civic.cases.chasing import Due, chase
from civic.cases.models import Case, CaseEvent, CaseReminder
from civic.cases.workflow import apply_action
from civic.extensions import db
from civic.push.models import PushDelivery

# Monday 23 November 2026, 10:00 in Shanghai (a working day, inside working hours)
MONDAY_10 = datetime(2026, 11, 23, 2, 0)
# Friday 20 November 2026, 17:00 in Shanghai: half an hour of working time left that week
FRIDAY_17 = datetime(2026, 11, 20, 9, 0)


def chased(case_id):
    db.session.expire_all()
    return [(e.action, e.data["clock"], e.actor_id) for e in db.session.scalars(
        select(CaseEvent).where(CaseEvent.case_id == case_id, CaseEvent.action.in_(["remind", "escalate"]))
        .order_by(CaseEvent.id))]


def set_due(case, ack=None, resolve=None):
    case = db.session.get(Case, case.id)
    case.ack_due_at, case.resolve_due_at = ack, resolve
    db.session.commit()
    return case


def test_reminder_then_escalation_once_each(county, make_case):
    case = make_case("dispatched", assignee=county.other_worker)
    set_due(case, ack=MONDAY_10 + timedelta(minutes=3), resolve=MONDAY_10 + timedelta(days=3))
    assert chase(MONDAY_10 - timedelta(minutes=10)) == {"remind": 0, "escalate": 0}  # not yet
    assert chase(MONDAY_10) == {"remind": 1, "escalate": 0}
    assert chase(MONDAY_10) == {"remind": 0, "escalate": 0}  # running twice sends nothing twice
    assert chase(MONDAY_10 + timedelta(minutes=1)) == {"remind": 0, "escalate": 0}
    assert chased(case.id) == [("remind", "ack", None)]
    remind = db.session.scalar(select(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.action == "remind"))
    assert (remind.from_status, remind.to_status, remind.created_at) == ("dispatched", "dispatched", MONDAY_10)
    assert remind.data["notified"] == sorted([county.other_worker.id, county.staff_san.id])

    later = MONDAY_10 + timedelta(minutes=4)
    assert chase(later) == {"remind": 0, "escalate": 1}
    assert chase(later + timedelta(hours=1)) == {"remind": 0, "escalate": 0}
    assert chased(case.id) == [("remind", "ack", None), ("escalate", "ack", None)]
    escalate = db.session.scalar(select(CaseEvent).where(CaseEvent.case_id == case.id,
                                                         CaseEvent.action == "escalate"))
    assert escalate.data["notified"] == sorted([county.supervisor.id, county.other_worker.id])
    # escalations fall back to SMS for people without push: one each for the supervisor and the assignee
    sent = db.session.scalars(select(PushDelivery).where(PushDelivery.kind == "escalation")).all()
    assert sorted(d.user_id for d in sent) == sorted([county.supervisor.id, county.other_worker.id])
    rows = db.session.scalars(select(CaseReminder).where(CaseReminder.case_id == case.id)
                              .order_by(CaseReminder.id)).all()
    assert [(r.kind, r.clock, r.due_at) for r in rows] == [("remind", "ack", case.ack_due_at),
                                                           ("escalate", "ack", case.ack_due_at)]


def test_a_second_job_with_the_same_work_sends_nothing(county, make_case):
    """Two jobs that both found the case due: the unique key lets only one write."""
    case = make_case("dispatched", assignee=county.other_worker)
    set_due(case, ack=MONDAY_10 - timedelta(minutes=1), resolve=MONDAY_10 + timedelta(days=3))
    [due] = chasing.due_now(MONDAY_10)
    assert due == Due(case.id, "escalate", "ack", MONDAY_10 - timedelta(minutes=1))
    assert chasing._send(due, MONDAY_10) is True
    assert chasing._send(due, MONDAY_10) is False
    assert chased(case.id) == [("escalate", "ack", None)]


def test_acknowledged_in_time_is_not_escalated(county, make_case):
    case = make_case("dispatched", assignee=county.other_worker)
    set_due(case, ack=MONDAY_10 + timedelta(minutes=3), resolve=MONDAY_10 + timedelta(days=3))
    # Acknowledged at Monday 10:01, whatever day the suite runs: the resolve clock
    # restarts from the acknowledgement, so the moment of it is part of the case.
    with time_machine.travel(MONDAY_10.replace(tzinfo=timezone.utc) + timedelta(minutes=1), tick=False):
        apply_action(db.session.get(Case, case.id), "acknowledge", county.other_worker, client_id=None)
        db.session.commit()
    assert db.session.get(Case, case.id).resolve_due_at > MONDAY_10 + timedelta(hours=2)
    assert chase(MONDAY_10 + timedelta(minutes=30)) == {"remind": 0, "escalate": 0}
    assert chased(case.id) == []


def test_resolve_clock_while_acknowledged_and_in_progress(county, make_case):
    case = make_case("in_progress", assignee=county.other_worker)
    set_due(case, ack=MONDAY_10 - timedelta(hours=5), resolve=MONDAY_10 + timedelta(minutes=45))
    assert chase(MONDAY_10) == {"remind": 1, "escalate": 0}  # 60 working minutes before; no old ack chase
    assert chase(MONDAY_10 + timedelta(minutes=46)) == {"remind": 0, "escalate": 1}
    assert chased(case.id) == [("remind", "resolve", None), ("escalate", "resolve", None)]


def test_closed_and_handled_cases_are_left_alone(county, make_case):
    for status in ("handled", "closed", "rejected", "reported", "accepted"):
        case = make_case(status, assignee=county.other_worker)
        set_due(case, ack=MONDAY_10 - timedelta(hours=5), resolve=MONDAY_10 - timedelta(hours=1))
    assert chase(MONDAY_10) == {"remind": 0, "escalate": 0}


def test_working_time_versus_calendar_time(county, make_case):
    """Friday 17:00: Monday 08:45 is under 60 working minutes away (30 on Friday, 15 on
    Monday) but 63 hours of calendar time; an urgent case 2 calendar hours away is not."""
    monday_0845 = datetime(2026, 11, 23, 0, 45)
    normal = make_case("acknowledged", assignee=county.other_worker)  # E0102: working hours
    set_due(normal, ack=FRIDAY_17 - timedelta(hours=1), resolve=monday_0845)
    urgent = make_case("acknowledged", assignee=county.other_worker, category="E0401")  # calendar time
    set_due(urgent, ack=FRIDAY_17 - timedelta(hours=1), resolve=FRIDAY_17 + timedelta(hours=2))
    assert chase(FRIDAY_17) == {"remind": 1, "escalate": 0}
    assert chased(normal.id) == [("remind", "resolve", None)] and chased(urgent.id) == []
    # the urgent one is reminded an hour before, on calendar time
    assert chase(FRIDAY_17 + timedelta(hours=1, minutes=1)) == {"remind": 1, "escalate": 0}
    assert chased(urgent.id) == [("remind", "resolve", None)]


def test_urgent_acknowledge_clock_runs_at_night(county, make_case):
    """Saturday 03:00: an urgent case's acknowledge deadline, 4 calendar minutes away, is
    reminded and then escalated while nobody works."""
    night = datetime(2026, 11, 20, 19, 0)  # Saturday 03:00 in Shanghai
    urgent = make_case("dispatched", assignee=county.other_worker, category="E0401")
    set_due(urgent, ack=night + timedelta(minutes=4), resolve=night + timedelta(hours=6))
    assert chase(night) == {"remind": 1, "escalate": 0}
    assert chase(night + timedelta(minutes=5)) == {"remind": 0, "escalate": 1}
    assert chased(urgent.id) == [("remind", "ack", None), ("escalate", "ack", None)]


def test_a_new_deadline_is_chased_anew(county, make_case):
    case = make_case("in_progress", assignee=county.other_worker)
    set_due(case, ack=MONDAY_10 - timedelta(hours=5), resolve=MONDAY_10 - timedelta(minutes=1))
    assert chase(MONDAY_10) == {"remind": 0, "escalate": 1}
    set_due(case, ack=MONDAY_10 - timedelta(hours=5), resolve=MONDAY_10 + timedelta(hours=2))  # e.g. extended
    assert chase(MONDAY_10) == {"remind": 0, "escalate": 0}
    assert chase(MONDAY_10 + timedelta(hours=2, minutes=1)) == {"remind": 0, "escalate": 1}
    assert [a for a, _c, _u in chased(case.id)] == ["escalate", "escalate"]


def test_reminder_window_is_configurable(county, make_case, app):
    case = make_case("dispatched", assignee=county.other_worker)
    set_due(case, ack=MONDAY_10 + timedelta(minutes=20), resolve=MONDAY_10 + timedelta(days=3))
    assert chase(MONDAY_10) == {"remind": 0, "escalate": 0}
    app.config["REMIND_BEFORE_ACK_MINUTES"] = 30
    assert chase(MONDAY_10) == {"remind": 1, "escalate": 0}


def test_the_cli_command(county, make_case, runner):
    case = make_case("dispatched", assignee=county.other_worker)
    set_due(case, ack=MONDAY_10 - timedelta(minutes=1), resolve=MONDAY_10 + timedelta(days=3))
    result = runner.invoke(args=["cases", "chase", "--now", "2026-11-23T10:00:00+08:00"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "0 reminders, 1 escalations"
    result = runner.invoke(args=["cases", "chase", "--now", "2026-11-23T10:00:00+08:00"])
    assert result.output.strip() == "0 reminders, 0 escalations"
    assert runner.invoke(args=["cases", "chase", "--now", "soon"]).exit_code != 0
