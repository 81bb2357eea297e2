"""The supervisors' figures: every number on the performance, ranking, daily
report, hot-topics and map pages (and in their CSV, XLSX and JSON) equals a
direct count from the cases and their events, on both databases; the minimum
count of the ranking; on time in working time (holidays, make-up working days)."""
import csv
import io
import random
import re
import statistics
import uuid
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from flask import current_app
from sqlalchemy import select

from civic.accounts.models import User
from civic.cases import services as case_services
from civic.cases import workflow
from civic.cases.deadlines import clock_for
from civic.cases.models import Case, CaseEvent
from civic.cases.services import open_case
from civic.extensions import db
from civic.photos.models import Photo
from civic.stats.keywords import keywords
from civic.stats.rollups import rebuild, today
from civic.timeutil import utcnow
from tests.conftest import PASSWORD, point_in

TZ = ZoneInfo("Asia/Shanghai")
GRIDS = ("L2-1-1", "L2-1-2", "L2-2-1", "L2-2-3")
# (category, its department in the catalogue)
CATEGORIES = ("E0102", "E0605", "C0305", "E0505", "C0201", "E0111", "E0306")
DESCRIPTIONS = ("垃圾桶满溢，有异味", "消防通道被电动车堵塞", "井盖缺失，很危险", "路灯不亮", "垃圾堆在路边没人清运",
                "机动车乱停放堵住出入口", "道路积水，行人无法通过", "垃圾桶破损")
WORKING = ("dispatched", "acknowledged", "in_progress")


class Clock:
    """The server's clock as the workflow and the intake see it."""

    def __init__(self, monkeypatch):
        self.now = utcnow()
        monkeypatch.setattr(workflow, "utcnow", lambda: self.now)
        monkeypatch.setattr(case_services, "utcnow", lambda: self.now)


@pytest.fixture
def clock(monkeypatch):
    return Clock(monkeypatch)


def local(y, m, d, hh, mm):
    return datetime(y, m, d, hh, mm, tzinfo=TZ).astimezone(timezone.utc).replace(tzinfo=None)


def after_photo():
    n = uuid.uuid4().int % 10**12
    return [Photo(kind="after", position=0, sha256=f"{n:064x}", phash="0" * 16, width=4, height=3, bytes=10,
                  source_format="JPEG", display_key=f"db/p{n}.jpg", thumb_key=f"db/p{n}_t.jpg")]


def report(county, clock, at, category, grid, description, reporter=None):
    clock.now = at
    cat = county.categories[category]
    lat, lng = point_in(grid)
    case = open_case(client_id=str(uuid.uuid4()), content_hash="t", channel="resident",
                     reporter=reporter or county.resident, category=cat, description=description, lat=lat, lng=lng,
                     location_source="device", accuracy_m=5, address=None, captured_at=None,
                     grid=county.grids[grid], department=cat.department,
                     deadlines=clock_for(current_app).deadlines(at, cat), photos=[], received_at=at)
    db.session.commit()
    return case


def act(clock, case, action, actor, at, **kw):
    clock.now = at
    if action == "handle":
        kw["photos"] = after_photo()
    workflow.apply_action(case, action, actor, client_id=str(uuid.uuid4()), **kw)
    db.session.commit()


@pytest.fixture
def seeded(app, county, clock):
    """About 90 cases over the last three weeks in four grids, seven categories
    and three departments, each taken some way along the workflow at random
    (seeded) times: some on time, some late, some rated, some rejected, some open
    and overdue now."""
    rng = random.Random(8)
    c = county
    start = utcnow() - timedelta(days=20)
    cases = []
    for n in range(90):
        at = start + timedelta(minutes=rng.randrange(0, 19 * 24 * 60))
        case = report(c, clock, at, rng.choice(CATEGORIES), rng.choice(GRIDS), rng.choice(DESCRIPTIONS),
                      reporter=rng.choice([c.resident, c.resident2]))
        cases.append(case)
        fate = rng.random()
        t = at + timedelta(minutes=rng.randrange(1, 90))
        if fate < 0.1:
            act(clock, case, "reject", c.dispatcher, t, note="不属实")
            continue
        if fate < 0.15:
            continue  # waits in the queue
        act(clock, case, "accept", c.dispatcher, t)
        t += timedelta(minutes=rng.randrange(1, 30))
        act(clock, case, "dispatch", c.dispatcher, t)
        if fate < 0.25:
            continue  # dispatched, not acknowledged: overdue now when its deadline has passed
        t += timedelta(minutes=rng.choice([5, 20, 45, 200, 2000]))
        act(clock, case, "acknowledge", c.admin, t)
        if fate < 0.35:
            continue
        t += timedelta(minutes=rng.choice([60, 300, 1500, 6000, 12000]))
        act(clock, case, "handle", c.admin, t, note="已处理")
        if fate < 0.55:
            act(clock, case, "verify", c.dispatcher, t + timedelta(minutes=30))
        elif fate < 0.9:
            reporter = db.session.get(User, case.reporter_id)
            act(clock, case, "rate", reporter, t + timedelta(minutes=40),
                rating=rng.choice(["satisfied", "satisfied", "basic", "unsatisfied"]), note="还行")
    return cases


# -- the direct count ------------------------------------------------------------------

def local_day(at):
    return at.replace(tzinfo=timezone.utc).astimezone(TZ).date()


def direct(start, end, by="department", grids=None):
    """Figures per key counted from the cases and events alone (no re-routes in
    the seeded data: a case's department never changes)."""
    out = {}
    cases = {c.id: c for c in db.session.scalars(select(Case))}
    for e in db.session.scalars(select(CaseEvent).order_by(CaseEvent.id)):
        case = cases[e.case_id]
        if not start <= local_day(e.created_at) <= end or (grids is not None and case.grid_id not in grids):
            continue
        f = out.setdefault(getattr(case, f"{by}_id"), {
            "reported": 0, "accepted": 0, "volume": 0, "acknowledged": 0, "ack_on_time": 0, "handled": 0,
            "handled_on_time": 0, "closed": 0, "ratings": 0, "good": 0, "ack_minutes": [], "resolve_minutes": []})
        dispatched = next((x.created_at for x in case.events if x.action == "dispatch"), None)
        if e.action == "report":
            f["reported"] += 1
        elif e.action == "accept":
            f["accepted"] += 1
        elif e.action == "dispatch":
            f["volume"] += 1
        elif e.action == "acknowledge":
            f["acknowledged"] += 1
            f["ack_on_time"] += e.created_at <= case.ack_due_at
            f["ack_minutes"].append(int((e.created_at - dispatched).total_seconds() // 60))
        elif e.action == "handle":
            f["handled"] += 1
            f["handled_on_time"] += case.resolve_due_at is None or e.created_at <= case.resolve_due_at
            f["resolve_minutes"].append(int((e.created_at - dispatched).total_seconds() // 60))
        elif e.action == "rate":
            f["ratings"] += 1
            f["good"] += e.data["rating"] in ("satisfied", "basic")
        if e.to_status == "closed" and e.from_status != "closed":
            f["closed"] += 1
    return out


def overdue_now(by="department"):
    now = utcnow()
    counts = {}
    for case in db.session.scalars(select(Case).where(Case.status.in_(WORKING), Case.resolve_due_at < now)):
        key = getattr(case, f"{by}_id")
        counts[key] = counts.get(key, 0) + 1
    return counts


def rate(part, whole):
    return part / whole if whole else None


# The JSON sends every figure that is not a count rounded to 6 decimal places (README, "Figures
# in the API"): a rate of 1/6 is 0.166667. Each one is compared at that precision and no closer,
# whatever fractions the day's seeded cases happen to give.
JSON_PLACES = 6


def as_sent(value):
    if value is None:
        return None
    return pytest.approx(value, rel=0, abs=0.5 * 10 ** -JSON_PLACES + 1e-12)


def assert_row(got, want, overdue):
    assert got["reported"] == want["reported"]
    assert got["accepted"] == want["accepted"]
    assert got["volume"] == want["volume"]
    assert (got["acknowledged"], got["handled"], got["closed"]) == (want["acknowledged"], want["handled"],
                                                                   want["closed"])
    assert got["ack_on_time_rate"] == as_sent(rate(want["ack_on_time"], want["acknowledged"]))
    assert got["handled_on_time_rate"] == as_sent(rate(want["handled_on_time"], want["handled"]))
    assert got["ratings"] == want["ratings"]
    assert got["satisfaction_rate"] == as_sent(rate(want["good"], want["ratings"]))
    assert got["overdue_now"] == overdue
    for name in ("ack", "resolve"):
        minutes = want[f"{name}_minutes"]
        if minutes:
            assert got[f"{name}_minutes_mean"] == as_sent(statistics.mean(minutes))
        else:
            assert got[f"{name}_minutes_median"] is None


# -- the tests ----------------------------------------------------------------------------

def login(client, username):
    response = client.post("/auth/login", data={"username": username, "password": PASSWORD})
    assert response.status_code == 302


@pytest.mark.parametrize("by", ["department", "grid", "category"])
def test_performance_json_equals_the_cases(app, client, county, seeded, by):
    login(client, "supervisor")
    end = today()
    for days in (1, 7, 30):
        start = end - timedelta(days=days - 1)
        data = client.get(f"/dashboard/performance.json?by={by}&days={days}").get_json()
        assert (data["start"], data["end"]) == (start.isoformat(), end.isoformat())
        want = direct(start, end, by)
        overdue = overdue_now(by)
        codes = _codes(county, by)
        rows = {codes[r["code"]] if r["code"] else None: r for r in data["rows"]}
        for key in set(want) | {k for k, v in overdue.items() if v}:
            assert_row(rows[key], want.get(key) or direct_empty(), overdue.get(key, 0))
        assert set(rows) <= set(want) | set(overdue)
        total = data["total"]
        assert total["reported"] == sum(w["reported"] for w in want.values())
        assert total["volume"] == sum(w["volume"] for w in want.values())
        assert total["overdue_now"] == sum(overdue.values())


def direct_empty():
    return {"reported": 0, "accepted": 0, "volume": 0, "acknowledged": 0, "ack_on_time": 0, "handled": 0,
            "handled_on_time": 0, "closed": 0, "ratings": 0, "good": 0, "ack_minutes": [], "resolve_minutes": []}


def _codes(county, by):
    if by == "department":
        return {d.code: d.id for d in county.departments.values()}
    if by == "grid":
        return {g.code: g.id for g in county.grids.values()}
    return {c.code: c.id for c in county.categories.values()}


def test_filtered_performance_reads_the_fine_rollup_and_equals_the_cases(app, client, county, seeded):
    """A level-1 grid's departments: the grid filter takes its level-2 grids."""
    login(client, "supervisor")
    end = today()
    start = end - timedelta(days=29)
    grids = {county.grids[code].id for code in ("L2-1-1", "L2-1-2", "L2-1-3", "L2-1-4")}
    data = client.get("/dashboard/performance.json?grid=L1-1&days=30").get_json()
    want = direct(start, end, "department", grids)
    codes = _codes(county, "department")
    rows = {codes[r["code"]] if r["code"] else None: r for r in data["rows"]}
    for key, figures in want.items():
        overdue = sum(1 for c in db.session.scalars(select(Case).where(Case.status.in_(WORKING),
                                                                        Case.resolve_due_at < utcnow()))
                      if c.grid_id in grids and c.department_id == key)
        assert_row(rows[key], figures, overdue)


def test_live_rollups_equal_a_rebuild_for_every_table(app, county, seeded):
    from civic.stats.models import DailyCaseStats, DailyDimensionStats, KeywordStats

    def snapshot():
        db.session.expire_all()
        return {model.__tablename__: sorted(tuple(row) for row in db.session.execute(select(model.__table__)))
                for model in (DailyCaseStats, DailyDimensionStats, KeywordStats)}

    live = snapshot()
    assert all(live.values())
    rebuild()
    assert snapshot() == live


def test_keywords_and_hot_categories_equal_the_descriptions(app, client, county, seeded):
    login(client, "supervisor")
    end = today()
    html = client.get("/dashboard/hot?period=week").get_data(as_text=True)
    start, before = end - timedelta(days=6), end - timedelta(days=13)
    words_now, words_then, cats_now, cats_then = {}, {}, {}, {}
    for case in db.session.scalars(select(Case)):
        day = local_day(case.received_at)
        into_words, into_cats = ((words_now, cats_now) if start <= day <= end else
                                 (words_then, cats_then) if before <= day < start else (None, None))
        if into_words is None:
            continue
        for word in keywords(case.description):
            into_words[word] = into_words.get(word, 0) + 1
        into_cats[case.category.code] = into_cats.get(case.category.code, 0) + 1
    assert words_now and cats_now
    for word, n in sorted(words_now.items(), key=lambda kv: -kv[1])[:5]:
        row = re.search(rf'<tr class="[^"]*" data-key="{word}"><td>{word}.*?</td><td class="num">(\d+)</td>'
                        r'<td class="num">(\d+)</td>', html, re.S)
        assert row, word
        assert (int(row[1]), int(row[2])) == (n, words_then.get(word, 0))
    for code, n in cats_now.items():
        row = re.search(rf'data-key="{code}">.*?<td class="num">(\d+)</td><td class="num">(\d+)</td>', html, re.S)
        assert (int(row[1]), int(row[2])) == (n, cats_then.get(code, 0)), code


def test_a_spike_is_flagged(app, client, county, clock):
    """Six reports of one category today against none before: a spike; two: not."""
    now = utcnow()
    # Between the local midnight and now, however soon after midnight the test runs (at 00:01 "six
    # minutes ago" is yesterday).
    midnight = datetime.combine(today(), datetime.min.time(), TZ).astimezone(timezone.utc).replace(tzinfo=None)

    def earlier_today(n):
        return midnight + (now - midnight) * (n + 1) / 10

    for n in range(6):
        report(county, clock, earlier_today(n), "E0505", "L2-1-1", "机动车乱停放")
    for n in range(2):
        report(county, clock, earlier_today(n), "E0102", "L2-1-1", "垃圾")
    login(client, "supervisor")
    html = client.get("/dashboard/hot?period=day").get_data(as_text=True)
    assert re.search(r'<tr class="spike[^"]*" data-key="E0505">', html)
    assert not re.search(r'<tr class="spike[^"]*" data-key="E0102">', html)


def test_ranking_applies_the_minimum_and_equals_the_cases(app, client, county, seeded):
    app.config["RANKING_MIN_CASES"] = 4
    login(client, "supervisor")
    monday = today() - timedelta(days=today().weekday() + 7)
    sunday = monday + timedelta(days=6)
    html = client.get(f"/dashboard/ranking?week={(monday + timedelta(days=3)).isoformat()}").get_data(as_text=True)
    assert f"{monday.isoformat()} – {sunday.isoformat()}" in html
    want = direct(monday, sunday)
    board = html[html.index('data-rate="handled_on_time_rate"'):html.index('data-rate="satisfaction_rate"')]
    shown = [(int(d), int(rank)) for d, rank in
             re.findall(r'<tr data-department="(\d+)"><td class="num rank">(\d+)</td>', board)]
    assert {d for d, _ in shown} == {d for d, f in want.items() if d and f["handled"] >= 4}
    rates = [rate(want[d]["handled_on_time"], want[d]["handled"]) for d, _ in shown]
    assert rates == sorted(rates, reverse=True)
    for index, (d, rank) in enumerate(shown):  # standard competition ranking: 1, 1, 3
        assert rank == 1 + sum(1 for r in rates if r > rates[index])
    unranked = re.findall(r'<tr class="unranked" data-department="(\d+)">', board)
    assert sorted(int(d) for d in unranked) == sorted(d for d, f in want.items() if d and 0 < f["handled"] < 4)
    for d in unranked:
        f = want[int(d)]
        assert f"{f['handled_on_time']}/{f['handled']}" in board
    # The command centre on its own stages, counted from the stage rows that ended in the week.
    from civic.cases.models import CaseStage
    from civic.stats.evaluation import bounds

    centre = html[html.index('data-rate="command_centre"'):]
    low, high = bounds(monday, sunday)
    for stage in ("accept", "dispatch"):
        ended = db.session.scalars(select(CaseStage).where(CaseStage.stage == stage, CaseStage.done_at >= low,
                                                           CaseStage.done_at < high)).all()
        row = re.search(rf'<tr data-stage="{stage}">.*?<td class="num counts">(\d+)/(\d+)</td>', centre, re.S)
        assert ended and (int(row[1]), int(row[2])) == (sum(1 for r in ended if r.on_time), len(ended)), stage


def test_the_report_and_its_exports_hold_the_same_numbers(app, client, county, seeded):
    from openpyxl import load_workbook

    login(client, "supervisor")
    day = today() - timedelta(days=1)
    html = client.get(f"/dashboard/report?day={day.isoformat()}").get_data(as_text=True)
    table = html[html.index('<table class="data stats-table"'):html.index("</table>")]
    page = {}
    for key, cells in re.findall(r'<tr data-key="([^"]*)">(.*?)</tr>', table, re.S):
        page[key] = {col: re.sub(r"<[^>]+>", " ", value).split()[0]
                     for col, value in re.findall(r'data-col="(\w+)">(.*?)</td>', cells, re.S)}
    assert page
    data = client.get(f"/dashboard/report.json?day={day.isoformat()}").get_json()
    columns = [c["key"] for c in data["table"]["columns"]]
    kinds = {c["key"]: c["kind"] for c in data["table"]["columns"]}

    response = client.get(f"/dashboard/report.csv?day={day.isoformat()}")
    assert response.mimetype == "text/csv" and "attachment" in response.headers["Content-Disposition"]
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    header, body = rows[0], rows[1:]
    assert len(header) == len(columns) + 2
    by_code = {row[0] or "total": dict(zip(columns, row[2:])) for row in body}
    assert set(by_code) == set(page)
    for code, values in page.items():
        assert by_code[code] == values

    response = client.get(f"/dashboard/report.xlsx?day={day.isoformat()}")
    sheet = load_workbook(io.BytesIO(response.data)).active
    xlsx = {}
    for row in sheet.iter_rows(min_row=4, values_only=True):
        xlsx[row[0] or "total"] = dict(zip(columns, row[2:]))
    assert set(xlsx) == set(page)
    for code, values in page.items():
        for key, shown in values.items():
            value = xlsx[code][key]
            if value is None:
                assert shown == "–"
            elif kinds[key] == "rate":
                assert f"{value * 100:.1f}%" == shown
            else:
                assert str(round(value)) == shown

    json_rows = {r["code"] or "total": r for r in data["table"]["rows"]} | {"total": data["table"]["total"]}
    want = direct(day, day)
    codes = {d.id: d.code for d in county.departments.values()}
    for key, figures in want.items():
        assert json_rows[codes.get(key, "")]["volume"] == figures["volume"]
    assert data["table"]["total"]["reported"] == sum(f["reported"] for f in want.values())


def test_map_shades_each_grid_by_its_open_and_overdue_cases(app, client, county, seeded):
    login(client, "supervisor")
    for measure in ("open", "overdue"):
        html = client.get(f"/dashboard/map?measure={measure}").get_data(as_text=True)
        shown = {code: int(n) for code, n in re.findall(r'data-grid="([^"]+)" data-count="(\d+)"', html)}
        want = {}
        for case in db.session.scalars(select(Case).where(Case.status.not_in(["closed", "rejected"]))):
            if measure == "overdue" and not (case.status in WORKING and case.resolve_due_at < utcnow()):
                continue
            code = next(g.code for g in county.grids.values() if g.id == case.grid_id)
            want[code] = want.get(code, 0) + 1
        assert {k: v for k, v in shown.items() if v} == want
        # Clusters: the cases in each ~400 m cell, drawn where two or more are close together.
        cells = {}
        for case in db.session.scalars(select(Case).where(Case.status.not_in(["closed", "rejected"]))):
            if measure == "overdue" and not (case.status in WORKING and case.resolve_due_at < utcnow()):
                continue
            cell = (int(case.lat / 0.004 + 100000), int(case.lng / 0.004 + 100000))
            cells[cell] = cells.get(cell, 0) + 1
        clusters = sorted(int(n) for n in re.findall(r'<circle [^>]*data-n="(\d+)"', html))
        assert clusters == sorted(n for n in cells.values() if n >= 2)
        code, n = max(want.items(), key=lambda kv: kv[1])
        assert re.search(rf'href="/dashboard/cases\?grid={code}&amp;state={measure}" data-grid="{code}"', html)
        listed = client.get(f"/dashboard/cases?grid={code}&state={measure}").get_data(as_text=True)
        assert listed.count("<tr data-ref=") == n


def test_on_time_is_counted_in_working_time(app, client, county, clock):
    """Reported on the eve of the National Day holiday: acknowledged on a holiday,
    days later by the calendar, is still on time; reported the evening before the
    make-up Saturday (调休), acknowledged that Saturday morning late is late."""
    c = county
    eve = report(c, clock, local(2026, 9, 30, 17, 20), "E0102", "L2-1-1", "垃圾")
    assert local_day(eve.ack_due_at) == date(2026, 10, 8)  # 10 working minutes that day, 20 after the holiday
    act(clock, eve, "dispatch", c.dispatcher, local(2026, 9, 30, 17, 21))
    act(clock, eve, "acknowledge", c.admin, local(2026, 10, 5, 10, 0))
    friday = report(c, clock, local(2026, 10, 9, 17, 20), "E0102", "L2-1-1", "垃圾")
    assert local_day(friday.ack_due_at) == date(2026, 10, 10)  # a Saturday, but a working day
    act(clock, friday, "dispatch", c.dispatcher, local(2026, 10, 9, 17, 21))
    act(clock, friday, "acknowledge", c.admin, local(2026, 10, 10, 10, 0))
    login(client, "supervisor")
    data = client.get("/dashboard/performance.json?start=2026-10-05&end=2026-10-10").get_json()
    san = next(r for r in data["rows"] if r["code"] == "SAN")
    assert (san["acknowledged"], san["ack_on_time_rate"]) == (2, 0.5)
    first = client.get("/dashboard/performance.json?start=2026-10-05&end=2026-10-05").get_json()
    assert next(r for r in first["rows"] if r["code"] == "SAN")["ack_on_time_rate"] == 1.0


@pytest.mark.parametrize("username", ["resident", "worker", "staff_san"])
def test_figures_are_for_oversight_roles_only(app, client, county, username):
    login(client, username)
    for url in ("/dashboard/performance", "/dashboard/performance.csv", "/dashboard/ranking", "/dashboard/report",
                "/dashboard/report.json", "/dashboard/report.xlsx", "/dashboard/hot", "/dashboard/map",
                "/dashboard/cases"):
        assert client.get(url).status_code == 403, url


def test_anonymous_visitors_are_sent_to_log_in(client, county):
    response = client.get("/dashboard/performance")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


@pytest.mark.parametrize("url, status", [
    ("/dashboard/performance?days=abc", 400), ("/dashboard/performance?days=3", 400),
    ("/dashboard/performance?start=2026-13-01", 400), ("/dashboard/performance?start=2026-02-01&end=2026-01-01", 400),
    ("/dashboard/performance?start=1900-01-01&end=2026-01-01", 400), ("/dashboard/performance?by=street", 400),
    ("/dashboard/performance?grid=NOPE", 404), ("/dashboard/performance?department=%00", 400),
    ("/dashboard/performance?category=<script>", 404), ("/dashboard/performance.pdf", 404),
    ("/dashboard/report?day=yesterday", 400), ("/dashboard/report.txt", 404), ("/dashboard/hot?period=year", 400),
    ("/dashboard/map?measure=all", 400), ("/dashboard/cases?state=closed", 400), ("/dashboard/ranking?week=x", 400),
])
def test_bad_parameters_get_a_clear_error(app, client, county, url, status):
    login(client, "supervisor")
    response = client.get(url)
    assert response.status_code == status
    assert "<script>" not in response.get_data(as_text=True).split("</header>", 1)[-1]


def test_pages_render_with_no_cases(app, client, county):
    login(client, "supervisor")
    for url in ("/dashboard/performance", "/dashboard/performance?by=grid", "/dashboard/ranking",
                "/dashboard/report", "/dashboard/report.xlsx", "/dashboard/report.csv", "/dashboard/hot",
                "/dashboard/map", "/dashboard/cases"):
        assert client.get(url).status_code == 200, url
