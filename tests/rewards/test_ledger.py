"""The points rules: earned when a report is accepted as valid and when it leads
to a fix; nothing for duplicates, rejected reports, reused photos; a daily cap
and a cooldown per place; an append-only ledger whose sum never goes negative."""
import threading
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from civic.cases.models import Case
from civic.cases.services import set_location
from civic.cases.workflow import apply_action
from civic.errors import ApiError
from civic.extensions import db
from civic.photos.models import Photo
from civic.posters.models import Poster
from civic.rewards import services as rewards
from civic.rewards.models import PointEntry, Redemption, RewardItem
from civic.transaction import unit_of_work
from tests.conftest import point_in

VALID, FIXED = 10, 5


def with_photo(case, sha, phash="0f0f0f0f0f0f0f0f"):
    db.session.add(Photo(case_id=case.id, kind="before", position=0, sha256=sha.ljust(64, "0"), phash=phash,
                         width=4, height=3, bytes=10, source_format="JPEG", display_key=f"k/{sha}.jpg",
                         thumb_key=f"k/{sha}_t.jpg"))
    db.session.commit()
    return case


@pytest.fixture
def report(county, make_case):
    """A resident's fresh report with its own photo, at a given spot of grid L2-1-1."""
    counter = iter(range(1, 1000))

    def make(fx=0.5, fy=0.5, *, reporter=None, sha=None, phash=None, poster=None, grid="L2-1-1"):
        n = next(counter)
        case = make_case("reported", reporter=reporter or county.resident, grid=grid)
        set_location(case, *point_in(grid, fx, fy))
        case.poster_id = poster.id if poster else None
        db.session.commit()
        return with_photo(case, sha or f"{n:x}a", phash or f"{(n * 0x9E3779B97F4A7C15) % 2**64:016x}")
    return make


def act(case, action, actor, **kw):
    event = apply_action(db.session.get(Case, case.id), action, actor, client_id=None, **kw)
    db.session.commit()
    return event


def entries(user):
    return [(e.kind, e.points, e.reason) for e in db.session.scalars(
        select(PointEntry).where(PointEntry.user_id == user.id).order_by(PointEntry.id))]


def close(case, county):
    act(case, "dispatch", county.dispatcher, assignee=county.worker)
    act(case, "acknowledge", county.worker)
    act(case, "handle", county.worker, photos=[Photo(kind="after", position=0, sha256="f" * 64, phash="1" * 16,
                                                     width=4, height=3, bytes=10, source_format="JPEG",
                                                     display_key="k/after.jpg", thumb_key="k/after_t.jpg")])


def test_points_when_accepted_and_more_when_fixed(county, report):
    case = report()
    assert entries(county.resident) == []  # nothing on submit
    act(case, "accept", county.dispatcher)
    assert entries(county.resident) == [("report_valid", VALID, None)]
    close(case, county)
    assert rewards.balance(county.resident.id) == VALID  # handled is not yet fixed
    act(case, "rate", county.resident, rating="satisfied")  # the reporter's satisfied rating closes it
    assert db.session.get(Case, case.id).status == "closed"
    assert entries(county.resident) == [("report_valid", VALID, None), ("report_fixed", FIXED, None)]
    assert rewards.balance(county.resident.id) == VALID + FIXED


def test_dispatch_straight_from_reported_counts_as_valid(county, report):
    act(report(), "dispatch", county.dispatcher, department=county.departments["SAN"])
    assert entries(county.resident) == [("report_valid", VALID, None)]


def test_nothing_for_a_duplicate_merged_into_an_earlier_report(county, report):
    first, second = report(0.2, 0.2), report(0.25, 0.25, reporter=county.resident2)
    act(first, "accept", county.dispatcher)
    act(second, "merge", county.dispatcher, into=db.session.get(Case, first.id))
    assert entries(county.resident2) == []


def test_an_accepted_report_merged_later_loses_its_points(county, report):
    first, second = report(0.2, 0.2, reporter=county.resident2), report(0.8, 0.8)
    act(first, "accept", county.dispatcher)
    act(second, "accept", county.dispatcher)
    act(second, "merge", county.dispatcher, into=db.session.get(Case, first.id))
    assert entries(county.resident) == [("report_valid", VALID, None), ("revoke", -VALID, "merged")]
    assert rewards.balance(county.resident.id) == 0


def test_nothing_for_a_rejected_report(county, report):
    act(report(), "reject", county.dispatcher, note="无效")
    assert entries(county.resident) == []


def test_nothing_for_a_photo_already_used_same_bytes(county, report):
    act(report(0.1, 0.1, reporter=county.resident2, sha="abc"), "accept", county.dispatcher)
    act(report(0.9, 0.9, sha="abc"), "accept", county.dispatcher)
    assert entries(county.resident) == [("report_valid", 0, "photo_reused")]


def test_nothing_for_a_near_copy_of_a_photo_already_used(county, report):
    act(report(0.1, 0.1, reporter=county.resident2, phash="ffff0000ffff0000"), "accept", county.dispatcher)
    act(report(0.9, 0.9, phash="ffff0000ffff0007"), "accept", county.dispatcher)  # 3 bits apart: a re-save
    act(report(0.5, 0.1, grid="L2-1-2", phash="00ffff0000ffff00"), "accept", county.dispatcher)  # another photo
    assert entries(county.resident) == [("report_valid", 0, "photo_reused"), ("report_valid", VALID, None)]


def test_daily_cap(app, county, report):
    spots = [(0.1, 0.1, "L2-1-1"), (0.9, 0.9, "L2-1-1"), (0.5, 0.5, "L2-1-2"), (0.5, 0.5, "L2-1-3")]
    for fx, fy, grid in spots:
        act(report(fx, fy, grid=grid), "accept", county.dispatcher)
    assert [e[1:] for e in entries(county.resident)] == [(VALID, None)] * 3 + [(0, "daily_cap")]


def test_cooldown_per_place(county, report):
    act(report(0.50, 0.50), "accept", county.dispatcher)
    act(report(0.52, 0.52), "accept", county.dispatcher)  # ~30 m away: the same place
    act(report(0.50, 0.50, grid="L2-1-4"), "accept", county.dispatcher)  # another grid, 1 km away
    assert [e[1:] for e in entries(county.resident)] == [(VALID, None), (0, "cooldown"), (VALID, None)]


def test_cooldown_per_poster_and_after_it_passes(county, report):
    poster = Poster(code="PARK2345", name="人民公园", kind="park", grid_id=county.grids["L2-1-1"].id)
    db.session.add(poster)
    db.session.commit()
    act(report(0.1, 0.1, poster=poster), "accept", county.dispatcher)
    act(report(0.9, 0.9, poster=poster), "accept", county.dispatcher)  # 800 m apart, the same poster
    # A day later the place earns again (the grant's time is what counts).
    later = report(0.1, 0.9, poster=poster)
    entry = rewards.grant_valid(db.session.get(Case, later.id), now=db.session.scalar(
        select(func.max(PointEntry.created_at))) + timedelta(hours=25))
    assert (entry.points, entry.reason) == (VALID, None)
    assert [e[1:] for e in entries(county.resident)][:2] == [(VALID, None), (0, "cooldown")]


def test_staff_reports_earn_no_points(county, make_case):
    case = with_photo(make_case("reported", reporter=county.worker), "77")
    db.session.get(Case, case.id).channel = "grid_worker"
    db.session.commit()
    act(case, "accept", county.dispatcher)
    assert db.session.scalar(select(func.count(PointEntry.id))) == 0


def test_the_ledger_is_append_only(county, report):
    act(report(), "accept", county.dispatcher)
    entry = db.session.scalar(select(PointEntry))
    entry.points = 1000
    with pytest.raises(RuntimeError, match="append-only"):
        db.session.commit()
    db.session.rollback()


def give(user, points):
    db.session.add(PointEntry(user_id=user.id, kind="adjust", points=points, reason="test"))
    db.session.commit()


def test_redeem_spends_points_and_stock_and_replays(county):
    salt = RewardItem(code="SALT", name="食盐一袋", cost=20, stock=2)
    db.session.add(salt)
    give(county.resident, 30)
    client_id = str(uuid.uuid4())
    first = rewards.redeem(county.resident, salt.id, client_id)
    assert first.created and len(first.redemption.code) == 10
    again = rewards.redeem(county.resident, salt.id, client_id)  # the phone sent it twice
    assert not again.created and again.redemption.id == first.redemption.id
    assert rewards.balance(county.resident.id) == 10 and db.session.get(RewardItem, salt.id).stock == 1
    with pytest.raises(ApiError) as refused:
        rewards.redeem(county.resident, salt.id, str(uuid.uuid4()))
    assert (refused.value.status, refused.value.code) == (409, "not_enough_points")
    assert rewards.balance(county.resident.id) == 10 and db.session.get(RewardItem, salt.id).stock == 1


def test_a_code_is_used_once(county):
    salt = RewardItem(code="SALT", name="食盐一袋", cost=10, stock=5)
    db.session.add(salt)
    give(county.resident, 10)
    code = rewards.redeem(county.resident, salt.id, str(uuid.uuid4())).redemption.code
    used = rewards.use_code(code.lower(), county.worker)
    assert used.status == "used" and used.used_by == county.worker.id
    with pytest.raises(ApiError) as twice:
        rewards.use_code(code, county.worker)
    assert (twice.value.status, twice.value.code) == (409, "code_used")
    with pytest.raises(ApiError) as unknown:
        rewards.use_code("ZZZZZZZZZZ", county.worker)
    assert unknown.value.status == 404


def test_fifty_concurrent_redemptions_of_ten_in_stock(app, county):
    """Five residents with 30 points each (three items' worth) send 50 redemptions at
    once for an item with stock 10: exactly 10 codes, no balance below zero."""
    from civic.accounts.models import User

    salt = RewardItem(code="SALT", name="食盐一袋", cost=10, stock=10)
    db.session.add(salt)
    residents = [User(username=f"r{n}", role="resident", phone=f"1370000000{n}", password_hash="x")
                 for n in range(5)]
    db.session.add_all(residents)
    db.session.commit()
    for user in residents:
        give(user, 30)
    ids, item_id = [u.id for u in residents], salt.id
    outcomes, start = [], threading.Barrier(50, timeout=30)

    def attempt(n):
        with app.app_context():
            start.wait()  # all at once; connections are taken only now (the pool holds fewer than 50)
            try:
                with unit_of_work():  # as the redemption command does: one commit point
                    rewards.redeem(db.session.get(User, ids[n % 5]), item_id, str(uuid.uuid4()))
                outcomes.append("ok")
            except ApiError as error:
                outcomes.append(error.code)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    db.session.expire_all()
    assert outcomes.count("ok") == 10 and len(outcomes) == 50
    assert set(outcomes) <= {"ok", "out_of_stock", "not_enough_points"}
    assert db.session.scalar(select(func.count(Redemption.id))) == 10
    assert len(set(db.session.scalars(select(Redemption.code)))) == 10
    assert db.session.get(RewardItem, item_id).stock == 0
    assert all(rewards.balance(uid) >= 0 for uid in ids)
    assert sum(rewards.balance(uid) for uid in ids) == 5 * 30 - 10 * 10


def test_a_near_copy_of_ones_own_photo_far_away_is_still_reused(county, report):
    first = report(0.5, 0.5, phash="ffff0000ffff0000")
    case = db.session.get(Case, first.id)
    set_location(case, case.lat + 0.2, case.lng + 0.2)  # ~28 km away, in no grid
    db.session.commit()
    act(first, "accept", county.dispatcher)
    act(report(0.5, 0.5, grid="L2-1-4", phash="ffff0000ffff0003"), "accept", county.dispatcher)
    assert [e[1:] for e in entries(county.resident)] == [(VALID, None), (0, "photo_reused")]


def _phash_of(image):
    """The stored hash of `image` as the photo pipeline makes it from an upload."""
    import io
    from zoneinfo import ZoneInfo

    from civic.photos import pipeline

    out = io.BytesIO()
    image.save(out, "JPEG", quality=60)
    limits = {"max_bytes": 20 * 2**20, "max_pixels": 50_000_000, "local_tz": ZoneInfo("Asia/Shanghai")}
    return pipeline.render(pipeline.inspect(out.getvalue(), **limits), display_max=1600, thumb_max=320).phash


@pytest.mark.parametrize("change", ["mirrored", "cropped", "recompressed"])
def test_a_mirrored_cropped_or_recompressed_copy_earns_nothing_again(county, report, change):
    """Issue 17, item 14: a left-right mirror was passed off as a new photo."""
    from PIL import Image, ImageOps

    from tests.conftest import photo_path

    image = ImageOps.exif_transpose(Image.open(photo_path("mobile/jolla.jpg"))).convert("RGB")
    width, height = image.size
    copy = {"mirrored": lambda: image.transpose(Image.Transpose.FLIP_LEFT_RIGHT),
            "cropped": lambda: image.crop((width * 3 // 100, height * 3 // 100, width * 97 // 100, height * 97 // 100)),
            "recompressed": lambda: image.resize((width // 2, height // 2))}[change]()
    act(report(0.1, 0.1, reporter=county.resident2, phash=_phash_of(image)), "accept", county.dispatcher)
    act(report(0.9, 0.9, phash=_phash_of(copy)), "accept", county.dispatcher)
    assert entries(county.resident) == [("report_valid", 0, "photo_reused")]
