"""Demo feedback: a few weeks of answers for the demo customers, with comments, detractors and follow-ups.

``seed(seed=...)`` is deterministic for a given seed and data set, idempotent (a second call adds nothing) and
set-based (a handful of bulk inserts), for ``seed_demo`` to call after the profiles demo data exists.
"""

from __future__ import annotations

import random
from datetime import timedelta

from django.db import connection, transaction
from django.utils import timezone

from feedback.analysis import analyze
from feedback.models import (
    FollowUp,
    FollowUpEntry,
    FollowUpStatus,
    Invitation,
    InvitationStatus,
    Response,
    Survey,
    SurveyKind,
)
from feedback.wording import language_for_country
from profiles.models import Touchpoint
from profiles.stores import store_info

DEMO_REASON = "demo"

COMMENTS = {
    "en": {
        "promoter": [
            "Maya remembered my size and had it ready. Lovely service!",
            "Quick, friendly and they found exactly what I wanted.",
            "Great advice in the fitting room, I'll be back.",
            "",
            "",
        ],
        "passive": [
            "Nice store, but the checkout queue was a bit long.",
            "Good selection, a little pricey.",
            "",
        ],
        "detractor": [
            "Waited 20 minutes at the fitting rooms and nobody came to help.",
            "The size I reserved online was not there when I arrived.",
            "Only one till open, the queue took forever.",
            "The staff ignored me, very disappointing visit.",
            "Store was messy and the changing rooms were dirty.",
        ],
    },
    "fr": {
        "promoter": [
            "Vendeuse très sympa, elle avait préparé ma taille. Merci !",
            "Super accueil et conseils parfaits en cabine.",
            "",
            "",
        ],
        "passive": ["Belle boutique mais un peu d'attente en caisse.", "Bien, mais les prix sont un peu chers.", ""],
        "detractor": [
            "Attente trop longue en cabine d'essayage, personne pour aider.",
            "Ma taille réservée en ligne n'était pas en stock.",
            "Une seule caisse ouverte, attente interminable.",
            "Personnel désagréable, très déçue.",
        ],
    },
}
RESOLUTIONS = [
    "Called her, apologised and offered a private fitting next visit.",
    "Reserved the size at the nearest store and sent it home free of charge.",
    "Talked it through with the team; a second till now opens on Saturdays.",
]


def _nps_score(rng: random.Random) -> int:
    roll = rng.random()
    if roll < 0.55:
        return rng.choice([9, 10, 10])
    if roll < 0.8:
        return rng.choice([7, 8])
    return rng.choice([2, 3, 4, 5, 6, 6])


RESPONSE_RATE = 0.35  # a pulse email's typical share of answers: the dashboards' response rate looks real


@transaction.atomic
def seed(*, seed: int, customers: int = 150, weeks: int = 6) -> dict:
    """Create demo invitations, about ``customers`` of them answered (and follow-ups for detractors); the
    rest were sent and never answered. Returns counts of what was created."""
    if Invitation.objects.filter(reason=DEMO_REASON).exists():
        return {"responses": 0, "follow_ups": 0, "skipped": True}
    survey = Survey.objects.filter(kind=SurveyKind.NPS, is_active=True).order_by("pk").first()
    if survey is None:
        return {"responses": 0, "follow_ups": 0, "skipped": True}
    rng = random.Random(seed)  # noqa: S311 - demo data, deterministic on purpose
    now = timezone.now()
    # Her latest store purchase or visit, one per customer, deterministic order.
    touchpoints = list(
        Touchpoint.objects.filter(moment__in=["purchased", "store_visit"])
        .exclude(store_code="")
        .order_by("customer_id", "-occurred_at", "pk")
        .distinct("customer_id")[: round(customers / RESPONSE_RATE)]
    )
    stores = {code: store_info(code) for code in {t.store_code for t in touchpoints}}
    invitations, answers, unanswered = [], [], []
    for touchpoint in touchpoints:
        language = language_for_country(stores[touchpoint.store_code].country)
        answered_at = now - timedelta(days=rng.uniform(0.2, weeks * 7), minutes=rng.randint(0, 600))
        sent_at = answered_at - timedelta(minutes=rng.randint(5, 600))
        score = _nps_score(rng)
        bucket = "promoter" if score >= 9 else "passive" if score >= 7 else "detractor"
        comment = rng.choice(COMMENTS[language][bucket])
        answered = rng.random() < RESPONSE_RATE
        invitation = Invitation(
            survey=survey,
            touchpoint=touchpoint,
            customer_id=touchpoint.customer_id,
            channel="email",
            store_code=touchpoint.store_code,
            moment=touchpoint.moment,
            touchpoint_channel=touchpoint.channel,
            associate_code=touchpoint.associate_code,
            occurred_at=min(touchpoint.occurred_at, sent_at),
            language=language,
            status=InvitationStatus.ANSWERED if answered else InvitationStatus.SENT,
            reason=DEMO_REASON,
            send_after=sent_at,
            sent_at=sent_at,
            expires_at=sent_at + timedelta(days=3),
            created_at=sent_at,
        )
        if answered:
            invitations.append(invitation)
            answers.append((score, comment, answered_at, language))
        else:
            unanswered.append(invitation)
    Invitation.objects.bulk_create(unanswered)
    Invitation.objects.bulk_create(invitations, ignore_conflicts=False)
    responses = []
    for invitation, (score, comment, answered_at, language) in zip(invitations, answers, strict=True):
        analysis = analyze(comment, language=language)
        responses.append(
            Response(
                invitation=invitation,
                survey=survey,
                kind=survey.kind,
                score=score,
                comment=comment,
                sentiment=analysis.sentiment,
                sentiment_score=analysis.score,
                themes=analysis.themes,
                customer_id=invitation.customer_id,
                store_code=invitation.store_code,
                moment=invitation.moment,
                channel=invitation.touchpoint_channel,
                invitation_channel="email",
                associate_code=invitation.associate_code,
                language=language,
                answered_at=answered_at,
                first_answered_at=answered_at,
                seconds_after_delivery=int((answered_at - invitation.sent_at).total_seconds()),
                commented_at=answered_at if comment else None,
                on_timeline_at=None,  # the beat writes them to the timelines
            )
        )
    Response.objects.bulk_create(responses)
    follow_ups, entries = [], []
    for response in responses:
        if not survey.is_detractor(response.score):
            continue
        age = now - response.answered_at
        resolved = age > timedelta(days=10) or rng.random() < 0.3
        follow_up = FollowUp(
            response=response,
            customer_id=response.customer_id,
            store_code=response.store_code,
            associate_code=response.associate_code,
            status=FollowUpStatus.RESOLVED if resolved else FollowUpStatus.OPEN,
            due_at=response.answered_at + timedelta(hours=48),
            resolved_at=response.answered_at + timedelta(hours=rng.randint(3, 40)) if resolved else None,
            resolution=rng.choice(RESOLUTIONS) if resolved else "",
        )
        follow_ups.append(follow_up)
    FollowUp.objects.bulk_create(follow_ups)
    for follow_up in follow_ups:
        if follow_up.status == FollowUpStatus.RESOLVED:
            entries.append(FollowUpEntry(follow_up=follow_up, kind="resolved", text=follow_up.resolution))
    FollowUpEntry.objects.bulk_create(entries)
    _assign_follow_ups()
    with connection.cursor() as cursor:
        # Her greeting card shows her latest score.
        cursor.execute(
            """
            UPDATE profiles_customersummary s SET last_feedback_score = r.score, last_feedback_at = r.answered_at
            FROM (SELECT DISTINCT ON (customer_id) customer_id, score, answered_at FROM feedback_response
                  ORDER BY customer_id, answered_at DESC) r
            WHERE s.customer_id = r.customer_id
              AND (s.last_feedback_at IS NULL OR s.last_feedback_at < r.answered_at)
            """
        )
    return {
        "invitations": len(invitations) + len(unanswered),
        "responses": len(responses),
        "follow_ups": len(follow_ups),
        "skipped": False,
    }


def _assign_follow_ups() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE feedback_followup f SET assigned_to_id = a.id
            FROM clienteling_associate a JOIN auth_user u ON u.id = a.user_id
            WHERE f.assigned_to_id IS NULL AND f.associate_code <> '' AND u.username = f.associate_code
            """
        )
