"""Derived data: the per-customer summary and interests, refreshed for the customers a batch touched."""

from __future__ import annotations

from collections.abc import Iterable


def customers_refresh(customer_ids: Iterable[int]) -> None:
    """Recompute CustomerSummary, Interest rows and lifecycle for these customers (set-based)."""
    # Filled in by the derived-data work (issue 3, part 5).
    return None
