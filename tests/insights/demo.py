"""A small, realistic, deterministic world for the dashboards' browser tests and screenshots.

Three stores in two regions, a few hundred customers with journeys across channels over half a year,
survey answers with comments and themes, detractor follow-ups, then every rollup and nightly job run
the way Celery would run them.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from django.db.models import OuterRef, Subquery
from django.utils import timezone

from clienteling.models import Region, Role
from feedback.models import FollowUp, Invitation, Response, Survey
from insights import services
from profiles.models import Customer, CustomerSummary, Touchpoint
from tests.factories import AssociateFactory, SourceFactory, StoreFactory

STAFF = {"PAR01": ["maya", "hugo", "ines"], "LYO01": ["leo", "chloe"], "NYC01": ["sam", "ava"]}
COMMENTS = {
    "staff": (["Maya knew exactly what would suit me", "Lovely, patient staff", "Hugo remembered my size"], 9),
    "waiting": (["Waited twenty minutes at the till", "Queue was far too long on Saturday"], 4),
    "stock": (["My size was out of stock again", "Couldn't find the colour I saw online"], 5),
    "fitting_rooms": (["Fitting rooms were messy", "Only one fitting room open"], 6),
    "price": (["A bit expensive but worth it", "Prices went up since last year"], 7),
    "delivery": (["Delivery came a day early", "Parcel arrived damaged"], 6),
}
FIRST = ["Anna", "Camille", "Chloé", "Emma", "Inès", "Léa", "Manon", "Sarah", "Julia", "Olivia", "Maya", "Nora", "Zoé"]
LAST = ["Martin", "Bernard", "Dubois", "Laurent", "Moreau", "Smith", "Garcia", "Nguyen", "Rossi", "Kim", "Lefèvre"]


def build(*, customers: int = 400, weeks: int = 26, seed: int = 7, today: dt.date | None = None) -> dict:
    rng = random.Random(seed)
    today = today or timezone.localdate()
    start = today - dt.timedelta(weeks=weeks)
    europe, america = Region.objects.create(name="Europe"), Region.objects.create(name="Americas")
    stores = {
        "PAR01": StoreFactory(code="PAR01", name="Paris Marais", timezone="Europe/Paris", region=europe),
        "LYO01": StoreFactory(code="LYO01", name="Lyon Confluence", timezone="Europe/Paris", region=europe),
        "NYC01": StoreFactory(
            code="NYC01", name="New York SoHo", timezone="America/New_York", country="US", region=america
        ),
    }
    for code, names in STAFF.items():
        for name in names:
            AssociateFactory(user__username=name, display_name=f"{name.title()} {code[0]}.", stores=[stores[code]])
    manager = AssociateFactory(
        user__username="camille",
        display_name="Camille Laurent",
        role=Role.MANAGER,
        stores=[stores["PAR01"], stores["LYO01"]],
    )
    source = SourceFactory(name="demo")
    nps = Survey.objects.create(name="After a visit", kind="nps", moments=["purchased", "store_visit"])
    csat = Survey.objects.create(name="After service", kind="csat", moments=["service_contact"])

    people = []
    for _ in range(customers):
        home = rng.choices(list(stores), weights=[5, 3, 4])[0]
        people.append(
            Customer(
                first_name=rng.choice(FIRST),
                last_name=rng.choice(LAST),
                home_store_code=home,
                tier=rng.choices(["", "silver", "gold", "platinum"], weights=[70, 15, 10, 5])[0],
                consent_surveys=True,
            )
        )
    Customer.objects.bulk_create(people)
    touches: list[Touchpoint] = []
    n = 0

    def add(c, moment, when, channel, store="", associate="", revenue=None):
        nonlocal n
        n += 1
        touches.append(
            Touchpoint(
                source=source,
                external_id=f"d{n}",
                customer=c,
                occurred_at=when,
                channel=channel,
                moment=moment,
                store_code=store,
                associate_code=associate,
                revenue=Decimal(revenue) if revenue else None,
                currency="EUR",
            )
        )

    for c in people:
        style = rng.choice(["store", "store", "web", "omni", "browser"])
        visits = rng.randint(1, 9)
        for _ in range(visits):
            day = start + dt.timedelta(days=rng.randint(0, weeks * 7 - 1))
            when = dt.datetime.combine(
                day, dt.time(rng.randint(9, 19), rng.randint(0, 59)), tzinfo=stores[c.home_store_code].tz
            )
            web = style in ("web", "browser") or (style == "omni" and rng.random() < 0.5)
            if rng.random() < 0.5:
                add(
                    c,
                    rng.choice(["product_viewed", "searched", "wishlisted"]),
                    when - dt.timedelta(days=rng.randint(1, 20)),
                    rng.choice(["web", "app"]),
                )
            if rng.random() < 0.25:
                add(
                    c,
                    "newsletter_signup" if rng.random() < 0.5 else "event_attended",
                    when - dt.timedelta(days=rng.randint(1, 25)),
                    "email" if rng.random() < 0.5 else "store",
                    store=c.home_store_code,
                )
            if web:
                add(c, "cart_added", when - dt.timedelta(hours=2), "web")
                if style != "browser" and rng.random() < 0.6:
                    add(c, "purchased", when, "web", revenue=rng.choice(["45", "79", "120", "189"]))
            else:
                associate = rng.choice(STAFF[c.home_store_code])
                add(c, "store_visit", when - dt.timedelta(minutes=30), "store", store=c.home_store_code)
                if rng.random() < 0.6:
                    add(
                        c,
                        "associate_assisted",
                        when - dt.timedelta(minutes=20),
                        "store",
                        store=c.home_store_code,
                        associate=associate,
                    )
                if rng.random() < 0.7:
                    add(
                        c,
                        "purchased",
                        when,
                        "store",
                        store=c.home_store_code,
                        associate=associate,
                        revenue=rng.choice(["60", "95", "150", "240", "420"]),
                    )
            if rng.random() < 0.08:
                add(c, "service_contact", when + dt.timedelta(days=3), "call_center", store=c.home_store_code)
    Touchpoint.objects.bulk_create(touches, batch_size=2000)

    # Survey answers: about a third of store visits and purchases, most service contacts.
    now = timezone.now()
    invitations, answers, follow_ups = [], [], []
    for t in Touchpoint.objects.filter(moment__in=["purchased", "store_visit", "service_contact"]).order_by("id"):
        if rng.random() > (0.7 if t.moment == "service_contact" else 0.3):
            continue
        store = t.store_code or t.customer.home_store_code
        survey = csat if t.moment == "service_contact" else nps
        sent = t.occurred_at + dt.timedelta(hours=2)
        if sent > now:
            continue
        invitation = Invitation(
            survey=survey,
            touchpoint_id=t.pk,
            customer_id=t.customer_id,
            channel="email",
            store_code=store,
            moment=t.moment,
            touchpoint_channel=t.channel,
            associate_code=t.associate_code,
            occurred_at=t.occurred_at,
            send_after=sent,
            expires_at=sent + dt.timedelta(days=7),
            status="sent",
            sent_at=sent,
        )
        invitations.append(invitation)
        if rng.random() < 0.45:
            continue
        mood = rng.random() + (0.15 if t.associate_code in ("maya", "sam") else 0) - (0.2 if store == "LYO01" else 0)
        if survey.kind == "nps":
            score = (
                10 if mood > 0.55 else 9 if mood > 0.4 else 8 if mood > 0.3 else 7 if mood > 0.22 else rng.randint(0, 6)
            )
        else:
            score = 5 if mood > 0.5 else 4 if mood > 0.3 else 3 if mood > 0.2 else rng.randint(1, 2)
        low = score <= (6 if survey.kind == "nps" else 2)
        comment, themes = "", []
        if rng.random() < 0.55:
            candidates = [th for th, (_texts, typical) in COMMENTS.items() if (typical <= 6) == low] or list(COMMENTS)
            theme = rng.choice(candidates)
            comment, themes = rng.choice(COMMENTS[theme][0]), [theme]
        answered = sent + dt.timedelta(hours=rng.randint(1, 30))
        if answered > now:
            answered = now - dt.timedelta(minutes=5)
        invitation.status = "answered"
        answers.append(
            (
                invitation,
                Response(
                    survey=survey,
                    kind=survey.kind,
                    score=score,
                    comment=comment,
                    themes=themes,
                    customer_id=t.customer_id,
                    store_code=store,
                    moment=t.moment,
                    channel=t.channel,
                    invitation_channel="email",
                    associate_code=t.associate_code,
                    answered_at=answered,
                    first_answered_at=answered,
                ),
            )
        )
    Invitation.objects.bulk_create(invitations, batch_size=2000)
    for invitation, response in answers:
        response.invitation_id = invitation.pk
    Response.objects.bulk_create([r for _i, r in answers], batch_size=2000)
    for response in Response.objects.filter(score__lte=6, kind="nps").order_by("id"):
        due = response.answered_at + dt.timedelta(hours=48)
        resolved = due - dt.timedelta(hours=rng.randint(-30, 40)) if due < now - dt.timedelta(days=3) else None
        if resolved and resolved > now:
            resolved = None
        follow_ups.append(
            FollowUp(
                response=response,
                customer_id=response.customer_id,
                store_code=response.store_code,
                due_at=due,
                status="resolved" if resolved else "open",
                resolved_at=resolved,
            )
        )
    FollowUp.objects.bulk_create(follow_ups)
    # created_at is auto_now_add: give each follow-up the time its unhappy answer came in.
    FollowUp.objects.update(
        created_at=Subquery(Response.objects.filter(pk=OuterRef("response_id")).values("answered_at")[:1])
    )

    services.rollups_rebuild()
    _segments_over_time(people, start, today, rng)
    return {
        "stores": stores,
        "manager": manager,
        "customers": len(people),
        "touchpoints": len(touches),
        "responses": len(answers),
    }


def _segments_over_time(people, start: dt.date, today: dt.date, rng) -> None:
    """Nightly snapshots every four weeks, with lifecycles as they would have been on each night."""
    CustomerSummary.objects.bulk_create([CustomerSummary(customer=c) for c in people], ignore_conflicts=True)
    purchases: dict[int, list[dt.date]] = {}
    for customer_id, when in Touchpoint.objects.filter(moment="purchased").values_list("customer_id", "occurred_at"):
        purchases.setdefault(customer_id, []).append(when.date())
    night = start + dt.timedelta(weeks=4)
    while True:
        night = min(night, today)
        for c in people:
            done = [d for d in purchases.get(c.pk, []) if d <= night]
            if not done:
                c.lifecycle = "prospect"
            elif (night - max(done)).days > 75:
                c.lifecycle = "lapsed"
            else:
                c.lifecycle = "new" if len(done) == 1 else "repeat" if len(done) < 4 else "loyal"
        Customer.objects.bulk_update(people, ["lifecycle"], batch_size=1000)
        services.lifecycle_snapshot_take(day=night)
        services.personas_assign(now=dt.datetime.combine(night, dt.time(3), tzinfo=dt.UTC))
        if night == today:
            break
        night += dt.timedelta(weeks=4)
