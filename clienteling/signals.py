"""Consent is checked when a card is made and again when it is shown; this takes cards down at once.

``profiles`` cannot import the store floor, so the floor listens: when a customer's recognition consent
is withdrawn (``profiles.services.customer_set_consent`` saves with ``update_fields``), or she is erased
or merged away, her cards leave every tablet. Bulk updates that bypass ``save()`` are still covered by the
feed's own filter on consent; they just wait for the next refresh instead of being pushed.
"""

from __future__ import annotations

from django.db.models.signals import post_save
from django.dispatch import receiver

from clienteling.models import Appointment, Arrival, Associate, Store
from profiles.models import Customer
from profiles.privacy import customer_erasing, customer_exporting

_WATCHED = {"consent_recognition", "erased_at", "merged_into"}


@receiver(post_save, sender=Customer, dispatch_uid="floor_cards_follow_consent")
def cards_follow_consent(sender, instance: Customer, created: bool, update_fields=None, **kwargs) -> None:
    if created:
        return
    if update_fields is not None and not (_WATCHED & set(update_fields)):
        return
    if instance.consent_recognition and instance.erased_at is None and instance.merged_into_id is None:
        return
    from clienteling.services import arrivals_withdraw

    arrivals_withdraw(customer_id=instance.pk)


@receiver(post_save, sender=Store, dispatch_uid="floor_names_store")
@receiver(post_save, sender=Associate, dispatch_uid="floor_names_associate")
def names_follow_saves(sender, **kwargs) -> None:
    """Cards show store and staff names from a per-process copy; a save here refreshes it at once."""
    from clienteling.selectors import names_forget

    names_forget()


@receiver(customer_exporting, dispatch_uid="floor_export")
def visits_export(sender, customer_ids: list[int], **kwargs):
    visits = Arrival.objects.filter(customer_id__in=customer_ids).order_by("created_at")
    return "store_visits", [
        {"at": a.created_at, "store": a.store.code, "source": a.source, "state": a.state, "outcome": a.outcome}
        for a in visits.select_related("store")
    ] + [
        {"appointment_at": a.starts_at, "store": a.store.code, "purpose": a.purpose, "status": a.status}
        for a in Appointment.objects.filter(customer_id__in=customer_ids).select_related("store")
    ]


@receiver(customer_erasing, dispatch_uid="floor_erase")
def visits_erase(sender, customer_ids: list[int], **kwargs) -> None:
    Arrival.objects.filter(customer_id__in=customer_ids).delete()
    Appointment.objects.filter(customer_id__in=customer_ids).delete()
