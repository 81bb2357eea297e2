"""The county's calendar: days added on the page, imported from a spreadsheet (a bad
file names its row and writes nothing), the next days as the deadlines count them,
and the deadlines themselves honouring the county's days and the departments' hours."""
import io
from datetime import date, datetime

import pytest
from openpyxl import Workbook
from sqlalchemy import select, text

from civic.admin import calendar
from civic.admin.models import AuditEntry
from civic.cases.deadlines import clock_for, county_calendar
from civic.cases.models import Case
from civic.extensions import db
from civic.grids.models import CalendarDay
from tests.admin.test_pages import login
from tests.conftest import new_meta, phone_clock, point_in

MONDAY = date(2026, 11, 23)


def upload(client, data, name):
    return client.post("/admin/calendar/import", data={"file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def xlsx(rows):
    book = Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def days():
    return {row.day: (row.workday, row.note) for row in db.session.scalars(select(CalendarDay))}


def test_a_day_off_on_the_page_moves_the_deadlines(client, app, county):
    category = county.categories["E0102"]  # 4 working hours
    monday_9 = datetime(2026, 11, 23, 1, 0)  # 09:00 Beijing
    _, before = clock_for(app).deadlines(monday_9, category)
    login(client, "admin")
    response = client.post("/admin/calendar", data={"day": "2026-11-23", "kind": "off", "note": "台风停工"})
    assert response.status_code == 303
    assert days() == {MONDAY: (False, "台风停工")}
    _, after = clock_for(app).deadlines(monday_9, category)
    assert before.date() == MONDAY and after.date() == date(2026, 11, 24)  # counted from Tuesday
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "calendar.set"))
    assert entry.target_label == "2026-11-23" and entry.after == {"day": "2026-11-23", "workday": False,
                                                                  "note": "台风停工"}
    assert client.post("/admin/calendar", data={"day": "23/11/2026", "kind": "off"}).status_code == 422
    assert client.post("/admin/calendar", data={"day": "2026-11-28", "kind": "maybe"}).status_code == 422
    assert client.post("/admin/calendar/remove", data={"day": "2026-11-23"}).status_code == 303
    assert days() == {}
    _, again = clock_for(app).deadlines(monday_9, category)
    assert again == before


def test_a_local_make_up_saturday_counts(app, county):
    saturday = date(2026, 11, 28)
    calendar.set_day(saturday, True, "本地补班")
    db.session.commit()
    friday_17 = datetime(2026, 11, 27, 9, 0)  # 17:00 Beijing: half an hour left that day
    _, due = clock_for(app).deadlines(friday_17, county.categories["E0102"])
    assert due.date() == saturday


def test_a_report_is_timed_by_its_departments_hours_and_the_county_days(client, app, county, api_as):
    san = county.departments["SAN"]
    san.working_hours = "09:00-10:00"
    db.session.commit()
    lat, lng = point_in("L2-1-1")
    at, _ = phone_clock(1)
    response = api_as(county.resident).post_report(new_meta(lat=lat, lng=lng, captured_at=at))
    assert response.status_code in (200, 201), response.get_json()
    case = db.session.scalar(select(Case).order_by(Case.id.desc()))
    assert case.department_id == san.id
    assert case.resolve_due_at == clock_for(app, san).deadlines(case.received_at, case.category)[1]
    assert case.resolve_due_at != clock_for(app).deadlines(case.received_at, case.category)[1]


def test_another_process_change_is_seen_after_the_check_interval(app, county):
    cache = county_calendar(app)
    cache.check_seconds = 3600
    assert not clock_for(app).is_workday(date(2026, 11, 28)) and clock_for(app).overrides == {}
    # Another worker's commit: straight into the table, none of this process's session events.
    with db.engine.begin() as connection:
        connection.execute(text("INSERT INTO calendar_days (day, workday, note, updated_at) "
                                "VALUES (:day, :workday, 'x', :at)"),
                           {"day": date(2026, 11, 28), "workday": True, "at": datetime(2026, 12, 1)})
    assert clock_for(app).overrides == {}  # not yet: checked at most every hour here
    cache.check_seconds = 0
    assert clock_for(app).is_workday(date(2026, 11, 28))


def test_next_days_say_why(county):
    calendar.set_day(date(2027, 1, 1), False, "元旦")
    db.session.commit()
    ahead = {d.day: d for d in calendar.next_days(date(2026, 12, 28), 10)}
    assert ahead[date(2026, 12, 28)].source == "national" and ahead[date(2026, 12, 28)].workday
    assert ahead[date(2027, 1, 1)].source == "local" and ahead[date(2027, 1, 1)].reason == "元旦"
    assert ahead[date(2027, 1, 4)].source == "weekday" and ahead[date(2027, 1, 4)].workday
    assert not ahead[date(2027, 1, 2)].workday
    national = calendar.describe(date(2026, 10, 1))
    assert national.source == "national" and not national.workday and national.reason == "National Day"
    assert calendar.unknown_years(date(2026, 12, 28), 10) == [(2027, True)]


def test_the_calendar_page(app, client, county):
    login(client, "supervisor")
    page = client.get("/admin/calendar")
    assert page.status_code == 200 and "as the deadlines count them" in page.get_data(as_text=True)
    assert "Save the day" not in page.get_data(as_text=True)  # reading only
    assert client.post("/admin/calendar", data={"day": "2026-11-23", "kind": "off"}).status_code == 403
    admin = app.test_client()
    login(admin, "admin")
    assert "Save the day" in admin.get("/admin/calendar").get_data(as_text=True)


def test_import_a_good_file_csv_and_xlsx(client, county):
    login(client, "admin")
    csv = "日期,类型,备注\n2027-01-01,休息,元旦\n2027/01/04,上班,补班\n".encode("gbk")
    assert upload(client, csv, "days.csv").status_code == 303
    assert days() == {date(2027, 1, 1): (False, "元旦"), date(2027, 1, 4): (True, "补班")}
    book = xlsx([["date", "type", "note"], [datetime(2027, 2, 11), "off", "春节"], ["2027-01-01", "off", "元旦"]])
    assert upload(client, book, "days.xlsx").status_code == 303
    assert days()[date(2027, 2, 11)] == (False, "春节")
    assert len(db.session.scalars(select(AuditEntry).where(AuditEntry.action == "calendar.set")).all()) == 3


@pytest.mark.parametrize("content, name, said", [
    ("date,type\n2027-01-01,off\n2027-13-01,off\n", "days.csv", "Row 3, date: '2027-13-01' is not a date"),
    ("date,type\n2027-01-01,off\n=DATE(2027;1;2),off\n", "days.csv", "Row 3, date: '=DATE(2027;1;2)' is a formula"),
    ("date,type\n2027-01-01,off\n2027-01-01,workday\n", "days.csv", "Row 3, date: 2027-01-01 is also in row 2"),
    ("date,type\n2027-01-01,off\n2027-01-02,sometimes\n", "days.csv", "Row 3, type: &#39;sometimes&#39; is neither"),
    ("when,what\n2027-01-01,off\n", "days.csv", "Row 1 must be the header"),
])
def test_a_bad_row_names_itself_and_nothing_is_imported(client, county, content, name, said):
    login(client, "admin")
    response = upload(client, content.encode(), name)
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and said.replace("'", "&#39;") in page.replace("&amp;", "&"), page
    assert days() == {}  # the good row 2 is not written either


def test_bad_files_are_refused_with_the_reason(client, county, monkeypatch):
    login(client, "admin")
    formula = xlsx([["date", "type"], ["2027-01-01", "off"], ["=DATE(2027,1,2)", "off"]])  # no saved value
    response = upload(client, formula, "days.xlsx")
    assert response.status_code == 422 and "Row 3, date: empty (a formula cell" in response.get_data(as_text=True)
    broken = upload(client, b"PK\x03\x04 not really a zip", "days.xlsx")
    assert broken.status_code == 422 and "not a readable XLSX" in broken.get_data(as_text=True)
    protected = upload(client, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 512, "days.xlsx")
    assert protected.status_code == 422 and "protected with a password" in protected.get_data(as_text=True)
    monkeypatch.setattr("civic.admin.tables.MAX_BYTES", 100)
    big = upload(client, b"date,type\n" + b"2027-01-01,off\n" * 20, "days.csv")
    assert big.status_code == 422 and "at most" in big.get_data(as_text=True)
    assert client.post("/admin/calendar/import", data={}, content_type="multipart/form-data").status_code == 400
    assert days() == {}


def test_the_commands(runner, county, tmp_path):
    good = tmp_path / "days.csv"
    good.write_text("date,type,note\n2027-01-01,off,元旦\n", encoding="utf-8")
    result = runner.invoke(args=["calendar", "import", str(good)])
    assert result.exit_code == 0 and "1 days added or changed" in result.output
    bad = tmp_path / "bad.csv"
    bad.write_text("date,type\n2027-01-02,off\nnope,off\n", encoding="utf-8")
    refused = runner.invoke(args=["calendar", "import", str(bad)])
    assert refused.exit_code == 1 and "Row 3, date" in refused.output
    assert date(2027, 1, 2) not in days()
    assert runner.invoke(args=["calendar", "set", "2027-01-04", "workday", "--note", "补班"]).exit_code == 0
    assert days()[date(2027, 1, 4)] == (True, "补班")
    assert runner.invoke(args=["calendar", "set", "someday", "off"]).exit_code == 2
    assert "national calendar decides again" in runner.invoke(args=["calendar", "remove", "2027-01-04"]).output
    shown = runner.invoke(args=["calendar", "show", "--days", "3"])
    assert shown.exit_code == 0 and len(shown.output.strip().splitlines()) == 3
