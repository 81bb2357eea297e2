"""Demo rewards for `flask seed-demo`: the catalogue a county keeps at its
service points, the points residents earned for the demo's accepted and fixed
reports (with the daily cap applied), their ratings of handled reports, a few
rechecks, codes issued and used, and a leaderboard."""
import random
from collections import Counter
from datetime import timedelta

from sqlalchemy import select

from ..cases.models import Case, CaseEvent, Rating, Recheck, RecheckStatus, Score
from ..extensions import db
from .models import PointEntry, Redemption, RewardItem
from .services import new_code, setting

CATALOGUE = [
    ("SALT", "食盐一袋", "400 克加碘食用盐，社区服务站领取", 30, 200),
    ("BAG", "环保购物袋", "可折叠，印有“文明城市 共建共享”", 20, 150),
    ("BUS10", "公交卡充值 10 元", "到公交营业厅出示兑换码充值", 80, 60),
    ("SOAP", "洗衣液一瓶", "1 千克装，社区服务站领取", 60, 40),
]
# How residents rate handled reports in the demo: mostly satisfied, as in the programmes it follows.
SCORES = [(Score.SATISFIED.value, 78), (Score.BASIC.value, 16), (Score.UNSATISFIED.value, 6)]
COMMENTS = {"satisfied": ["处理很及时，点赞！", "干净了，谢谢", None, None],
            "basic": ["处理了，但拖了两天", "基本解决，希望保持", None],
            "unsatisfied": ["只清理了一半，旁边还有", "过两天又堆满了", "没有看到任何变化"]}


def seed_rewards(demo, now, seed=20261125):
    """Flushes, does not commit. Runs after the demo's cases exist."""
    rng = random.Random(seed)
    items = [RewardItem(code=code, name=name, description=text, cost=cost, stock=stock, sort_order=n)
             for n, (code, name, text, cost, stock) in enumerate(CATALOGUE)]
    db.session.add_all(items)
    cases = db.session.scalars(select(Case).where(Case.channel.in_(["resident", "qr"]), Case.accepted_at.is_not(None))
                               .order_by(Case.accepted_at)).all()
    per_day = Counter()
    for case in cases:
        day = (case.reporter_id, case.accepted_at.date())
        rewarded = per_day[day] < setting("REWARD_DAILY_CAP")
        per_day[day] += 1
        db.session.add(PointEntry(user_id=case.reporter_id, case_id=case.id, kind="report_valid",
                                  points=setting("REWARD_POINTS_VALID") if rewarded else 0,
                                  reason=None if rewarded else "daily_cap", created_at=case.accepted_at))
        if rewarded and case.closed_at is not None:
            db.session.add(PointEntry(user_id=case.reporter_id, case_id=case.id, kind="report_fixed",
                                      points=setting("REWARD_POINTS_FIXED"), created_at=case.closed_at))
        if case.closed_at is not None or case.handled_at is not None:
            _rate(case, now, rng)
    db.session.flush()
    _redeem(demo, items, now, rng)
    for resident in rng.sample(demo.residents, k=max(1, len(demo.residents) // 3)):
        resident.on_leaderboard = True


def _rate(case, now, rng):
    """Most residents rate a closed report; one in sixteen is not satisfied and
    asks for a recheck, which is still pending for the most recent ones."""
    if case.closed_at is None or rng.random() > 0.7:
        return
    at = case.closed_at + timedelta(minutes=rng.randint(10, 600))
    if at >= now:
        return
    score = rng.choices([s for s, _ in SCORES], [w for _, w in SCORES])[0]
    comment = rng.choice(COMMENTS[score])
    rating = Rating(case_id=case.id, user_id=case.reporter_id, department_id=case.department_id, score=score,
                    comment=comment, round=1, created_at=at)
    db.session.add(rating)
    db.session.add(CaseEvent(case_id=case.id, actor_id=case.reporter_id, action="rate", from_status="closed",
                             to_status="closed", note=comment, data={"rating": score}, created_at=at))
    if score == Score.UNSATISFIED.value:
        db.session.flush()
        decided = now - at > timedelta(days=2)
        db.session.add(Recheck(case_id=case.id, rating_id=rating.id, department_id=case.department_id,
                               status=(RecheckStatus.UPHELD if decided else RecheckStatus.PENDING).value, created_at=at,
                               decided_at=at + timedelta(days=1) if decided else None,
                               note="现场复核：已按标准处置" if decided else None))


def _redeem(demo, items, now, rng):
    """A few residents exchanged points: some codes used at a service point, some not yet."""
    from .services import balance

    made = 0
    for resident in demo.residents[:8]:
        item = items[0] if rng.random() < 0.6 else items[1]
        if balance(resident.id) < item.cost or item.stock <= 0:
            continue
        at = now - timedelta(days=rng.randint(0, 20), hours=rng.randint(0, 20))
        # The first two are one of each, whatever the hour the demo is seeded at (how many
        # residents can afford one depends on it): the counter's page always shows both kinds.
        used = made == 0 or (made > 1 and rng.random() < 0.6)
        made += 1
        redemption = Redemption(user_id=resident.id, item_id=item.id, client_id=f"00000000-0000-4000-a000-{resident.id:012d}",
                                code=new_code(), cost=item.cost, status="used" if used else "issued", created_at=at,
                                used_at=at + timedelta(hours=rng.randint(1, 48)) if used else None)
        db.session.add(redemption)
        db.session.flush()
        db.session.add(PointEntry(user_id=resident.id, kind="redeem", points=-item.cost,
                                  redemption_id=redemption.id, created_at=at))
        item.stock -= 1
