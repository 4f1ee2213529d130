"""Insights' part of an erasure (``profiles.privacy``): the per-customer facts behind the rollups.

The daily rollups count, they do not name anyone, and keep their figures; the facts that tie a purchase or
a lifecycle stage to her customer id go. (Nothing to add to her export: these are derived from the
touchpoints and summary that the export already lists.)
"""

from __future__ import annotations

from django.dispatch import receiver

from insights.models import CustomerStage, PurchaseCredit, PurchaseFact
from profiles.privacy import customer_erasing


@receiver(customer_erasing, dispatch_uid="insights_erase")
def facts_erase(sender, customer_ids: list[int], **kwargs) -> None:
    for model in (PurchaseCredit, PurchaseFact, CustomerStage):
        model.objects.filter(customer_id__in=customer_ids).delete()
