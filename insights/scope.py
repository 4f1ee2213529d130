"""What a dashboard shows: which stores (scope) and which dates (period), read from the URL.

Filters live in the query string so a view can be shared as a link. Store codes and dates only: no
personal data ever goes into these URLs.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django import forms
from django.core.exceptions import PermissionDenied
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from clienteling.models import Associate, Region, Role, Store

WINDOWS = [(30, _("30 days")), (60, _("60 days")), (90, _("90 days")), (180, _("180 days")), (365, _("1 year"))]
DEFAULT_WEEKS = 12
MAX_DAYS = 3 * 366
# Periods the filter offers in one click (days, ending on the chosen end date). Their repeat-customer
# figures are precomputed for the fixed scopes (insights.services.repeat_figures_refresh).
PRESETS = [(DEFAULT_WEEKS * 7, _("Last 12 weeks")), (365, _("Last year"))]


@dataclass(frozen=True)
class Scope:
    """The stores a dashboard aggregates. ``codes`` None means everything, online included (admins)."""

    codes: tuple[str, ...] | None
    label: str
    stores: list[Store] = field(default_factory=list)  # what the store picker offers
    regions: list[Region] = field(default_factory=list)
    store: Store | None = None
    region: Region | None = None

    def filter(self, queryset, field_name: str = "store_code"):
        if self.codes is None:
            return queryset
        return queryset.filter(**{f"{field_name}__in": self.codes})

    @property
    def is_single_store(self) -> bool:
        return self.codes is not None and len(self.codes) == 1


@dataclass(frozen=True)
class Period:
    start: dt.date
    end: dt.date  # inclusive

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


def preset_periods(end: dt.date) -> list[Period]:
    """The preset periods ending on ``end``."""
    return [Period(end - dt.timedelta(days=days - 1), end) for days, _label in PRESETS]


class DashboardFilters(forms.Form):
    store = forms.CharField(required=False, max_length=20, label=_("Store"))
    region = forms.IntegerField(required=False, min_value=1, label=_("Region"))
    start = forms.DateField(required=False, label=_("From"))
    end = forms.DateField(required=False, label=_("To"))
    window = forms.TypedChoiceField(
        required=False, choices=WINDOWS, coerce=int, empty_value=90, label=_("Bought again within")
    )

    def clean(self):
        data = super().clean()
        today = timezone.localdate()
        end = data.get("end") or today
        start = data.get("start") or end - dt.timedelta(weeks=DEFAULT_WEEKS) + dt.timedelta(days=1)
        if start > end:
            self.add_error("start", _("The start date must be before the end date."))
            start = end - dt.timedelta(weeks=DEFAULT_WEEKS) + dt.timedelta(days=1)
        if (end - start).days > MAX_DAYS:
            self.add_error("start", _("Choose at most three years."))
            start = end - dt.timedelta(days=MAX_DAYS)
        data["period"] = Period(start, end)
        data["window"] = data.get("window") or 90
        return data


def filters_from(request) -> tuple[DashboardFilters, Period, int]:
    """Parse the URL's filters; bad values fall back to the defaults with the form's messages."""
    form = DashboardFilters(request.GET or None)
    if form.is_bound and form.is_valid():
        return form, form.cleaned_data["period"], form.cleaned_data["window"]
    if form.is_bound:
        cleaned = getattr(form, "cleaned_data", {})
        if "period" in cleaned:
            return form, cleaned["period"], cleaned.get("window") or 90
    today = timezone.localdate()
    return form, Period(today - dt.timedelta(weeks=DEFAULT_WEEKS) + dt.timedelta(days=1), today), 90


def scope_for(associate: Associate, *, store_code: str = "", region_id: int | None = None) -> Scope:
    """The stores this staff member may see, narrowed by the store or region picked in the URL.

    A store she may not see is refused (403), not silently dropped, so a shared link never shows a
    different store than the one it names.
    """
    if associate.role == Role.ADMIN:
        visible = list(Store.objects.active().select_related("region"))
    else:
        visible = list(associate.stores.filter(is_active=True).select_related("region"))
    regions = sorted({s.region for s in visible if s.region}, key=lambda r: r.name)
    by_code = {s.code.lower(): s for s in visible}
    if store_code:
        store = by_code.get(store_code.lower())
        if store is None:
            raise PermissionDenied
        return Scope((store.code,), store.name, visible, regions, store=store)
    if region_id:
        region = next((r for r in regions if r.pk == region_id), None)
        if region is None:
            raise PermissionDenied
        codes = tuple(s.code for s in visible if s.region_id == region.pk)
        return Scope(codes, region.name, visible, regions, region=region)
    if associate.role == Role.ADMIN:
        return Scope(None, str(_("All stores and online")), visible, regions)
    if len(visible) == 1:
        return Scope((visible[0].code,), visible[0].name, visible, regions, store=visible[0])
    return Scope(tuple(s.code for s in visible), str(_("All my stores")), visible, regions)
