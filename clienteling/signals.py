"""Consent is checked when a card is made and again when it is shown; this takes cards down at once.

``profiles`` cannot import the store floor, so the floor listens: when a customer's recognition consent
is withdrawn (``profiles.services.customer_set_consent`` saves with ``update_fields``), or she is erased
or merged away, her cards leave every tablet. Bulk updates that bypass ``save()`` are still covered by the
feed's own filter on consent; they just wait for the next refresh instead of being pushed.
"""

from __future__ import annotations

from django.db.models.signals import post_save
from django.dispatch import receiver

from clienteling.models import Associate, Store
from profiles.models import Customer

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
