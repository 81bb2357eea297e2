"""The photo store full or unwritable, for real rather than mocked: a small tmpfs
filled to the brim, the same remounted read-only, and a photo folder that cannot
be made. Every report and photo answer is a clear JSON 507 or 503, no case row or
event exists without its photos, no file is left behind; once there is room the
phone's outbox sends the same report again and it is stored once."""
import os
import subprocess
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, select

from civic.cases.models import Case, CaseEvent
from civic.extensions import db
from civic.photos.models import Photo
from civic.photos.storage import FileStorage, get_storage
from tests.conftest import new_action, photo_path, point_in, post_action
from tests.conftest import new_meta as any_meta

PHONE_PHOTO = "mobile/jolla.jpg"  # 8 MP: its display copy and thumbnail are a few hundred KB


def new_meta(**fields):
    lat, lng = point_in("G-1-1")
    return any_meta(lat=lat, lng=lng, **fields)


def count(model, *where):
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def stored_files(root):
    return sorted(p.relative_to(root) for p in Path(root).rglob("*") if p.is_file() and p.name != "filler")


@pytest.fixture
def small_disk(tmp_path):
    """A 1 MB tmpfs of this test's own (root in a container may mount one; else skip)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,mode=0755", "tmpfs", str(mount)],
                            capture_output=True, text=True)
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({result.stderr.strip() or result.returncode})")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(mount, leave_bytes):
    """Fill the disk up to `leave_bytes` free."""
    filler = mount / "filler"
    stats = os.statvfs(mount)
    free = stats.f_bavail * stats.f_frsize
    with open(filler, "ab") as handle:
        handle.write(b"\0" * max(0, free - leave_bytes))
    return filler


@pytest.fixture
def photo_dir(app, monkeypatch):
    def use(path):
        monkeypatch.setitem(app.config, "PHOTO_DIR", str(path))
        monkeypatch.setitem(app.extensions, "photo_storage", FileStorage(path))
        return path
    return use


def test_a_full_disk_is_507_with_nothing_written_and_the_retry_goes_through(app, county, api_as, small_disk, photo_dir,
                                                                           monkeypatch):
    root = photo_dir(small_disk / "photos")
    filler = fill(small_disk, leave_bytes=200 * 1024)  # room for the first photo's copies, not the phone photo's
    api = api_as(county.worker)
    meta = new_meta(client_id=str(uuid.uuid4()))
    photos = [photo_path("gps/DSCN0010.jpg"), photo_path(PHONE_PHOTO), photo_path("orientation/landscape_1.jpg")]
    storage, written = get_storage(app), []
    real_save = storage.save

    def save(key, data):  # a spy: the disk itself says no
        real_save(key, data)
        written.append(key)

    monkeypatch.setattr(storage, "save", save)
    response = api.post_report(meta, photos)
    assert response.status_code == 507, response.get_data(as_text=True)
    assert response.is_json and response.json["error"]["code"] == "storage_full"
    assert "stays on your device" in response.json["error"]["message"]
    assert count(Case) == 0 and count(Photo) == 0 and count(CaseEvent) == 0
    assert len(written) >= 2  # the first photo was stored before the disk was full…
    assert stored_files(root) == []  # …and is gone again; no temporary file either

    filler.unlink()  # room again: the outbox sends the very same report
    response = api.post_report(meta, photos)
    assert response.status_code == 201, response.get_data(as_text=True)
    assert count(Case) == 1 and count(Photo) == 3 and len(stored_files(root)) == 6
    assert api.post_report(meta, photos).status_code == 200  # and once more: the same case
    assert count(Case) == 1 and count(Photo) == 3


def test_a_full_disk_refuses_a_photo_action_whole(county, make_case, api_as, small_disk, photo_dir):
    root = photo_dir(small_disk / "photos")
    case = make_case("in_progress", assignee=county.worker)
    events = count(CaseEvent, CaseEvent.case_id == case.id)
    fill(small_disk, leave_bytes=16 * 1024)
    response = post_action(api_as(county.worker), case.id, new_action("handle", note="清理完毕"),
                           [photo_path(PHONE_PHOTO)])
    assert response.status_code == 507 and response.json["error"]["code"] == "storage_full"
    db.session.expire_all()
    assert db.session.get(Case, case.id).status == "in_progress"
    assert count(CaseEvent, CaseEvent.case_id == case.id) == events and count(Photo) == 0
    assert stored_files(root) == []


def test_a_read_only_disk_is_503(county, api_as, small_disk, photo_dir):
    root = photo_dir(small_disk / "photos")
    root.mkdir()
    remount = subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], capture_output=True, text=True)
    if remount.returncode != 0:
        pytest.skip(f"cannot remount read-only here ({remount.stderr.strip()})")
    response = api_as(county.worker).post_report(new_meta(), [photo_path(PHONE_PHOTO)])
    assert response.status_code == 503, response.get_data(as_text=True)
    assert response.json["error"]["code"] == "storage_unavailable"
    assert count(Case) == 0 and count(Photo) == 0


def test_a_photo_folder_that_cannot_be_made_is_503(county, api_as, tmp_path, photo_dir):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the photo folder should be")
    photo_dir(blocker / "photos")
    response = api_as(county.worker).post_report(new_meta(), [photo_path(PHONE_PHOTO)])
    assert response.status_code == 503 and response.json["error"]["code"] == "storage_unavailable"
    assert count(Case) == 0 and count(Photo) == 0
    # A report without photos does not need the store and is taken.
    assert api_as(county.worker).post_report(any_meta(address="东关街 12 号"), []).status_code == 201
