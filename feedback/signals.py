"""Feedback's part of a customer's export and erasure (``profiles.privacy``)."""

from __future__ import annotations

from django.dispatch import receiver

from feedback.models import FollowUp, FollowUpEntry, Invitation, Response, Suppression
from profiles.privacy import customer_erasing, customer_exporting


@receiver(customer_exporting, dispatch_uid="feedback_export")
def answers_export(sender, customer_ids: list[int], **kwargs):
    responses = Response.objects.filter(customer_id__in=customer_ids).select_related("survey").order_by("answered_at")
    return "survey_answers", [
        {"survey": r.survey.name, "answered_at": r.answered_at, "score": r.score, "comment": r.comment,
         "store": r.store_code, "moment": r.moment}
        for r in responses
    ]  # fmt: skip


@receiver(customer_erasing, dispatch_uid="feedback_erase")
def answers_erase(sender, customer_ids: list[int], **kwargs) -> None:
    """Her answers, comments and follow-ups go; the dashboards keep their daily counts, which name nobody."""
    FollowUpEntry.objects.filter(follow_up__customer_id__in=customer_ids).delete()
    FollowUp.objects.filter(customer_id__in=customer_ids).delete()
    Response.objects.filter(customer_id__in=customer_ids).delete()
    Invitation.objects.filter(customer_id__in=customer_ids).delete()
    Suppression.objects.filter(customer_id__in=customer_ids).delete()
