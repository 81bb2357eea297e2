"""Importing staff from a spreadsheet: every row checked first (with the row
number the spreadsheet shows and the column), nothing half-applied, the same file
twice changes nothing, a changed row updates its user; one-time passwords that
must be changed; the file forms counties really send (GBK CSV, XLSX with formulas,
broken and protected files)."""
import io

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import select, text

from civic.accounts.models import User
from civic.admin import people
from civic.admin.models import AuditEntry, AppendOnly
from civic.admin.tables import TableError, read_rows
from civic.extensions import db

HEADER = "username,name,role,phone,grids,department"


def csv_bytes(*lines, encoding="utf-8"):
    return ("\n".join([HEADER, *lines]) + "\n").encode(encoding)


def xlsx_bytes(rows):
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def plan_of(data, name="staff.csv"):
    return people.check_import(read_rows(data, name))


def user(username):
    return db.session.scalar(select(User).where(User.username == username))


def test_a_clean_file_creates_then_changes_nothing_then_updates_a_changed_row(county):
    data = csv_bytes("li,李四,grid_worker,13900000101,L2-1-1;L2-1-2,", ",王五,dept_staff,139 0000 0102,,SAN")
    plan = plan_of(data)
    assert [row.action for row in plan.rows] == ["create", "create"]
    applied = people.apply_import(plan)
    db.session.commit()
    assert user("li").must_change_password and sorted(g.code for g in user("li").grids) == ["L2-1-1", "L2-1-2"]
    wang = user("13900000102")  # no username: made from the phone, which is normalised
    assert wang.department.code == "SAN" and wang.phone == "13900000102"
    assert len(applied.passwords) == 2 and all(len(p[3]) == people.PASSWORD_LENGTH for p in applied.passwords)
    assert user("li").check_password(dict((p[0], p[3]) for p in applied.passwords)["li"])

    again = plan_of(data)
    assert again.summary() == "0 created, 0 updated, 2 unchanged, 0 invalid"
    changed = plan_of(csv_bytes("li,李四,grid_worker,13900000101,L2-2-1,", ",王五,dept_staff,13900000102,,SAN"))
    assert [row.action for row in changed.rows] == ["update", "unchanged"]
    assert changed.rows[0].changes == {"grids": (["L2-1-1", "L2-1-2"], ["L2-2-1"])}
    people.apply_import(changed)
    db.session.commit()
    assert [g.code for g in user("li").grids] == ["L2-2-1"]
    trail = db.session.scalars(select(AuditEntry).where(AuditEntry.target_label == "li").order_by(AuditEntry.id)).all()
    assert [e.action for e in trail] == ["user.create", "user.update"]
    assert trail[1].before == {"grids": ["L2-1-1", "L2-1-2"]} and trail[1].after == {"grids": ["L2-2-1"]}


def test_every_bad_row_is_named_with_its_row_and_column(county):
    data = csv_bytes(
        "a1,甲,grid_worker,13900000201,L2-9-9,",       # row 2: unknown grid
        "a2,乙,boss,13900000202,,",                    # row 3: unknown role
        "a3,丙,grid_worker,1390000,L2-1-1,",           # row 4: not a mobile number
        "dup,丁,dispatcher,13900000204,,",             # row 5: username twice (5 and 6)
        "DUP,戊,dispatcher,13900000205,,",             # row 6
        "a7,己,dispatcher,13800000004,,",              # row 7: the phone of the existing user "worker"
        "a8,庚,resident,13900000208,,",                # row 8: residents register themselves
        "a9,辛,dept_staff,13900000209,,NOPE",          # row 9: unknown department
        "ok,好,dispatcher,13900000210,,",              # row 10: fine
    )
    plan = plan_of(data)
    verdicts = {row.number: (row.action, [column for column, *_ in row.errors]) for row in plan.rows}
    assert verdicts == {2: ("invalid", ["grids"]), 3: ("invalid", ["role"]), 4: ("invalid", ["phone"]),
                        5: ("invalid", ["username"]), 6: ("invalid", ["username"]), 7: ("invalid", ["phone"]),
                        8: ("invalid", ["role"]), 9: ("invalid", ["department"]), 10: ("create", [])}
    assert plan.rows[3].errors == [("username", "duplicate", {"rows": "6"})]
    assert plan.rows[5].errors == [("phone", "phone_taken", {"username": "worker"})]
    with pytest.raises(people.ImportRefused):
        people.apply_import(plan)
    assert user("ok") is None  # nothing half-applied
    people.apply_import(plan, skip_invalid=True)
    db.session.commit()
    assert user("ok") is not None and user("a1") is None


def test_gbk_csv_with_chinese_headers_and_roles(county):
    data = "用户名,姓名,角色,手机号,网格,部门\nzhao,赵六,网格员,13900000301,L2-1-1,\n".encode("gbk")
    plan = plan_of(data, "名单.csv")
    assert plan.rows[0].action == "create" and plan.rows[0].role == "grid_worker" and plan.rows[0].name == "赵六"


def test_xlsx_formulas_are_read_as_their_saved_values_never_evaluated(county):
    data = xlsx_bytes([HEADER.split(","), ["f1", "=1+1", "dispatcher", 13900000401, "", ""]])
    plan = plan_of(data, "staff.xlsx")
    # openpyxl writes no cached value: the formula's cell is empty, so the name is missing
    assert plan.rows[0].errors == [("name", "name_required", {})]
    assert plan.rows[0].phone == "13900000401"  # a number cell as Excel keeps phone numbers


@pytest.mark.parametrize("data, name, words", [
    (b"PK\x03\x04 not really a zip", "staff.xlsx", "not a readable XLSX"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "staff.xlsx", "password"),
    (b"\xff\xfe\x00\x00garbage\x00", "staff.csv", "neither UTF-8 nor GBK"),
    (b"", "staff.csv", "no rows"),
])
def test_unreadable_files_say_why(data, name, words):
    with pytest.raises(TableError, match=words):
        read_rows(data, name)


def test_a_file_without_the_header_is_refused_whole(county):
    plan = plan_of("li,李四,grid_worker,13900000101,L2-1-1,\n".encode())
    assert plan.problems and "header" in plan.problems[0]


def test_the_command_checks_applies_and_writes_the_passwords(runner, county, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_bytes(csv_bytes("c1,甲,grid_worker,13900000501,L2-1-1,", "c2,乙,boss,13900000502,,"))
    result = runner.invoke(args=["users", "import", str(bad)])
    assert result.exit_code == 1
    assert "row 3: invalid: role: unknown role 'boss'" in result.output
    assert result.output.strip().splitlines()[-1].startswith("1 created, 0 updated, 0 unchanged, 1 invalid")
    assert user("c1") is None
    result = runner.invoke(args=["users", "import", str(bad), "--dry-run", "--skip-invalid"])
    assert result.exit_code == 0 and "dry run" in result.output and user("c1") is None
    out = tmp_path / "passwords.xlsx"
    result = runner.invoke(args=["users", "import", str(bad), "--skip-invalid", "--passwords-out", str(out)])
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines()[-1] == "1 created, 0 updated, 0 unchanged, 1 invalid"
    rows = list(load_workbook(out).active.iter_rows(values_only=True))
    assert rows[0] == ("username", "name", "phone", "password") and rows[1][:3] == ("c1", "甲", "13900000501")
    db.session.expire_all()
    assert user("c1").check_password(rows[1][3])


def test_a_one_time_password_must_be_changed_first(client, county, runner, tmp_path):
    path = tmp_path / "one.csv"
    path.write_bytes(csv_bytes("d1,丁一,grid_worker,13900000601,L2-1-1,"))
    out = tmp_path / "p.xlsx"
    assert runner.invoke(args=["users", "import", str(path), "--passwords-out", str(out)]).exit_code == 0
    password = list(load_workbook(out).active.iter_rows(values_only=True))[1][3]
    answer = client.post("/api/v1/auth/token", json={"username": "d1", "password": password})
    assert answer.status_code == 201 and answer.json["must_change_password"] is True
    headers = {"Authorization": f"Bearer {answer.json['token']}"}
    assert client.get("/api/v1/me", headers=headers).json["must_change_password"] is True
    refused = client.get("/api/v1/tasks", headers=headers)
    assert refused.status_code == 403 and refused.json["error"]["code"] == "password_change_required"
    short = client.post("/api/v1/me/password", json={"old": password, "new": "short"}, headers=headers)
    assert short.status_code == 422 and short.json["error"]["field"] == "new"
    wrong = client.post("/api/v1/me/password", json={"old": "nope-nope", "new": "a-new-password"}, headers=headers)
    assert wrong.status_code == 422 and wrong.json["error"]["code"] == "wrong_password"
    done = client.post("/api/v1/me/password", json={"old": password, "new": "a-new-password"}, headers=headers)
    assert done.status_code == 200
    assert client.get("/api/v1/tasks", headers=headers).status_code == 200  # this phone stays logged in
    assert client.post("/api/v1/auth/token", json={"username": "d1", "password": password}).status_code == 401


def test_the_site_asks_for_the_new_password_before_anything_else(client, county, runner, tmp_path):
    path = tmp_path / "one.csv"
    path.write_bytes(csv_bytes("e1,戊一,dispatcher,13900000701,,"))
    out = tmp_path / "p.xlsx"
    assert runner.invoke(args=["users", "import", str(path), "--passwords-out", str(out)]).exit_code == 0
    password = list(load_workbook(out).active.iter_rows(values_only=True))[1][3]
    client.application.config["WTF_CSRF_ENABLED"] = False
    response = client.post("/auth/login", data={"username": "e1", "password": password})
    assert response.status_code == 302 and response.headers["Location"].endswith("/auth/password")
    home = client.get("/dashboard/queue")
    assert home.status_code == 302 and "/auth/password" in home.headers["Location"]
    changed = client.post("/auth/password", data={"old": password, "new": "a-new-password"})
    assert changed.status_code == 303
    assert client.get("/dashboard/queue").status_code == 200


def test_the_audit_log_is_append_only(county):
    from civic.admin import audit

    entry = audit.record("user.update", target=county.worker, before={"a": 1}, after={"a": 2})
    db.session.commit()
    entry.action = "tampered"
    with pytest.raises(AppendOnly):
        db.session.commit()
    db.session.rollback()
    with pytest.raises(Exception, match="append-only"):
        with db.engine.begin() as conn:
            conn.execute(text("UPDATE audit_entries SET action = 'tampered'"))
    db.session.delete(db.session.get(AuditEntry, entry.id))
    with pytest.raises(AppendOnly):
        db.session.commit()
    db.session.rollback()


def test_a_one_time_password_login_costs_a_full_hash_too(client, county, monkeypatch):
    """One-time passwords (62 random bits) are hashed lightly so that a thousand are
    made in seconds; a login to such an account still runs the default scrypt, so
    its timing does not tell a fresh import from any other account."""
    import hashlib

    people.apply_import(plan_of(csv_bytes("h1,何一,dispatcher,13900001101,,")))
    db.session.commit()
    calls = []
    real = hashlib.scrypt

    def counting(password, *, salt, n, r, p, maxmem=0, dklen=64):
        calls.append(n)
        return real(password, salt=salt, n=n, r=r, p=p, maxmem=maxmem, dklen=dklen)

    monkeypatch.setattr(hashlib, "scrypt", counting)
    client.application.config["RATELIMIT_ENABLED"] = False
    assert client.post("/api/v1/auth/token", json={"username": "h1", "password": "wrong-password"}).status_code == 401
    assert sorted(calls) == [4096, 32768]


def test_a_username_in_another_case_is_the_existing_user(county):
    county.worker.username = "Worker"  # kept as an earlier administrator typed it
    db.session.commit()
    # No phone in the rows: only the username can find them.
    plan = plan_of(csv_bytes("wORKER,worker,grid_worker,,L2-1-1,", "WORKER2,worker2,grid_worker,,L2-2-1,"))
    assert [row.action for row in plan.rows] == ["unchanged", "unchanged"]
    assert [row.user.id for row in plan.rows] == [county.worker.id, county.other_worker.id]
