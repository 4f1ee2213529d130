"""Reads of pulse feedback, for the store floor (greeting card) and the managers' pages."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from django.db.models import Count, Q
from django.utils import timezone

from feedback.models import FollowUp, FollowUpStatus, Invitation, PendingAnswer, Response, SurveyKind


def answer_of(invitation: Invitation) -> Response | None:
    """Her answer as she last gave it, for her own pages: the stored response, with the score of a newer tap
    that is not applied yet (``services.answers_apply``) laid over it. Not saved; two queries at most."""
    pending = (
        PendingAnswer.objects.filter(invitation_id=invitation.pk)
        .order_by("-answered_at", "-pk")
        .values_list("score", "answered_at")
        .first()
    )
    response = Response.objects.filter(invitation_id=invitation.pk).first()
    if pending is not None and (response is None or response.answered_at <= pending[1]):
        response = response or Response(invitation=invitation, comment="")
        response.score, response.answered_at = pending
    return response


def open_followups_for(customer_ids: Iterable[int]) -> dict[int, FollowUp]:
    """Her oldest unresolved follow-up per customer, with the answer that opened it, in one query.

    For the greeting card: ``follow_up.response.score``, ``.comment``, ``follow_up.due_at``, ``.status``.
    """
    ids = [int(pk) for pk in customer_ids]
    if not ids:
        return {}
    rows = (
        FollowUp.objects.unresolved()
        .filter(customer_id__in=ids)
        .select_related("response")
        .order_by("customer_id", "created_at")
        .distinct("customer_id")
    )
    return {follow_up.customer_id: follow_up for follow_up in rows}


def follow_up_queue(store_codes: Iterable[str], *, status: str = "open"):
    """The managers' queue: unresolved first by due time (overdue on top), or the resolved ones."""
    rows = FollowUp.objects.for_stores(store_codes).select_related("response", "customer", "assigned_to__user")
    if status == "resolved":
        return rows.filter(status=FollowUpStatus.RESOLVED).order_by("-resolved_at")
    return rows.unresolved().order_by("due_at")


def follow_up_counts(store_codes: Iterable[str]) -> dict[str, int]:
    now = timezone.now()
    return FollowUp.objects.for_stores(store_codes).aggregate(
        open=Count("pk", filter=~Q(status=FollowUpStatus.RESOLVED)),
        overdue=Count("pk", filter=~Q(status=FollowUpStatus.RESOLVED) & Q(due_at__lt=now)),
    )


def latest_responses(store_codes: Iterable[str], *, limit: int = 15):
    return (
        Response.objects.filter(store_code__in=list(store_codes))
        .select_related("customer")
        .order_by("-answered_at")[:limit]
    )


def nps_since(store_codes: Iterable[str], *, days: int = 30) -> dict:
    """NPS = % promoters (9-10) - % detractors (0-6) over NPS answers of the last ``days`` days."""
    since = timezone.now() - timedelta(days=days)
    row = Response.objects.filter(
        store_code__in=list(store_codes), kind=SurveyKind.NPS, answered_at__gte=since
    ).aggregate(
        answers=Count("pk"),
        promoters=Count("pk", filter=Q(score__gte=9)),
        detractors=Count("pk", filter=Q(score__lte=6)),
    )
    answers = row["answers"]
    row["nps"] = round(100 * (row["promoters"] - row["detractors"]) / answers) if answers else None
    row["days"] = days
    return row
