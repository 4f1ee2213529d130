"""Manager dashboards: charts first, the table behind each chart, every number a link to the people behind it.

Views are thin: parse the URL's filters, resolve the scope (403 for a store she may not see), call the
selectors, render. Drill-down lists are PII views: scoped, paginated, audited.
"""

from __future__ import annotations

import csv
from urllib.parse import urlencode

from django.core.cache import cache
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django_htmx.http import HttpResponseStopPolling

from clienteling.access import MANAGERS, staff_required
from clienteling.models import Role
from insights import charts, selectors, tasks
from insights.scope import PRESETS, filters_from, preset_periods, scope_for
from profiles.audit import pii_viewed_many

COUNT_RETRY = 120  # seconds
LIST_PAGE_SIZE = 50
EXPORT_LIMIT = 50_000
FILTER_KEYS = ("store", "region", "start", "end", "window")


def _context(request: HttpRequest, page: str):
    form, period, window = filters_from(request)
    region = form.cleaned_data.get("region") if form.is_bound and hasattr(form, "cleaned_data") else None
    scope = scope_for(request.associate, store_code=request.GET.get("store", "").strip()[:20], region_id=region)
    query = urlencode({k: request.GET[k] for k in FILTER_KEYS if request.GET.get(k)})
    kept = {k: request.GET[k] for k in ("store", "region", "window") if request.GET.get(k)}
    presets = [
        (label, urlencode(kept | {"start": p.start.isoformat(), "end": p.end.isoformat()}))
        for (_days, label), p in zip(PRESETS, preset_periods(timezone.localdate()), strict=True)
    ]
    context = {
        "page": page,
        "form": form,
        "period": period,
        "window": window,
        "scope": scope,
        "query": query,
        "presets": presets,
        "is_manager": request.associate.role in MANAGERS,
    }
    return scope, period, window, context


def index(request: HttpRequest):
    return redirect("insights:sentiment")


@staff_required
def sentiment(request: HttpRequest) -> HttpResponse:
    """NPS/CSAT, trend, moments, associates, response rate, themes and the follow-up queue.

    Associates see their own store's summary only: no per-associate scores, no comments, no queue.
    """
    scope, period, window, context = _context(request, "sentiment")
    manager = request.associate.role != Role.ASSOCIATE
    summary = selectors.sentiment_summary(scope, period, with_associates=manager)
    context |= {"summary": summary, "trend_chart": charts.sentiment_trend(summary["trend"])}
    context["moments_chart"] = charts.by_moment(summary["moments"])
    if manager:
        themes = selectors.themes_summary(scope, period)
        followups = selectors.followup_summary(scope, period)
        names = selectors.associate_names(code for code, _s in summary["associates"])
        context |= {
            "themes": themes,
            "themes_chart": charts.themes(themes),
            "theme_trend_chart": charts.theme_trend(themes),
            "followups": followups,
            "associates": [(code, names.get(code, code), score) for code, score in summary["associates"]],
            "followup_url": _url_or_blank("feedback:follow_up", "00000000-0000-0000-0000-000000000000"),
        }
        if followups["queue"]:
            pii_viewed_many(request, [f.customer_id for f in followups["queue"]], action="insights_followup_queue")
    return render(request, "insights/sentiment.html", context)


@staff_required(*MANAGERS)
def customers(request: HttpRequest) -> HttpResponse:
    """Repeat customers, new vs returning, lifecycle. Repeat figures too large to count live are counted
    by the worker: the page shows them as being counted and polls its ``#repeat`` part until they are in."""
    scope, period, window, context = _context(request, "customers")
    repeat = selectors.repeat_summary(scope, period, window)
    lifecycle = selectors.lifecycle_summary(scope, period)
    if repeat["pending"]:
        _count_repeat_figures_soon(scope, period)
    context |= {
        "repeat": repeat,
        "lifecycle": lifecycle,
        "repeat_chart": charts.repeat_trend(repeat["monthly"]),
        "stages_chart": charts.stages(lifecycle["stages"]),
    }
    if request.htmx and request.GET.get("fragment") == "repeat":
        response = render(request, "insights/customers.html#repeat", context)
        if not repeat["pending"]:
            response.status_code = HttpResponseStopPolling.status_code  # 286: the figures are in
        return response
    return render(request, "insights/customers.html", context)


def _count_repeat_figures_soon(scope, period) -> None:
    """Ask the worker to count these figures, once per scope and period while a count may be running
    (a page polls every 2 s; after ``COUNT_RETRY`` a lost count is asked for again)."""
    codes = sorted(set(scope.codes)) if scope.codes is not None else None
    key = f"insights:repeat-count:{','.join(codes) if codes is not None else '*'}:{period.start}:{period.end}"
    if cache.add(key, 1, timeout=COUNT_RETRY):
        tasks.count_repeat_figures.delay(codes, period.start.isoformat(), period.end.isoformat())


@staff_required(*MANAGERS)
def moments(request: HttpRequest) -> HttpResponse:
    scope, period, window, context = _context(request, "moments")
    summary = selectors.moments_summary(scope, period)
    names = selectors.associate_names(a["associate_code"] for a in summary["assisted"])
    for row in summary["assisted"]:
        row["name"] = names.get(row["associate_code"], row["associate_code"])
    context |= {
        "summary": summary,
        "funnel_chart": charts.funnel(summary["funnel"]),
        "channels_chart": charts.channels(summary["channels"]),
    }
    return render(request, "insights/moments.html", context)


@staff_required(*MANAGERS)
def personas(request: HttpRequest) -> HttpResponse:
    scope, period, window, context = _context(request, "personas")
    summary = selectors.personas_summary(scope, period)
    context |= {"summary": summary, "personas_chart": charts.personas(summary)}
    return render(request, "insights/personas.html", context)


# --- Drill-down -----------------------------------------------------------------------------------------


@staff_required(*MANAGERS)
def customer_list(request: HttpRequest) -> HttpResponse:
    """The customers behind a number (same definition, same scope); CSV with ?export=csv."""
    scope, period, window, context = _context(request, "customers")
    metric = request.GET.get("metric", "")
    if metric not in selectors.CUSTOMER_METRICS:
        metric = "purchasers"
    params = {k: request.GET.get(k, "")[:100] for k in ("moment", "channel", "stage", "persona", "associate")}
    people = selectors.customers_behind(scope, period, window, metric, params)
    title = _(selectors.CUSTOMER_METRICS[metric])
    detail = _describe(metric, params)
    if request.GET.get("export") == "csv":
        rows = list(people[:EXPORT_LIMIT])
        pii_viewed_many(request, [c.pk for c in rows], action="insights_export")
        return _csv(
            f"customers-{metric}-{period.start}-{period.end}.csv",
            [_("First name"), _("Last name"), _("Lifecycle"), _("Tier"), _("Orders"), _("Last purchase"), _("Persona")],
            (
                [
                    c.first_name,
                    c.last_name,
                    c.get_lifecycle_display(),
                    c.get_tier_display(),
                    getattr(_summary(c), "order_count", ""),
                    _date(getattr(_summary(c), "last_purchase_at", None)),
                    getattr(_summary(c), "persona_name", ""),
                ]
                for c in rows
            ),
        )
    page = Paginator(people, LIST_PAGE_SIZE).get_page(request.GET.get("page"))
    pii_viewed_many(request, [c.pk for c in page], action="insights_drilldown")
    profile_url = _url_or_blank("profiles:profile", "00000000-0000-0000-0000-000000000000")
    context |= {
        "title": title,
        "detail": detail,
        "page_obj": page,
        "rows": [
            (
                c,
                _summary(c),
                profile_url.replace("00000000-0000-0000-0000-000000000000", str(c.public_id)) if profile_url else "",
            )
            for c in page
        ],
        "list_query": _list_query(request),
    }
    return render(request, "insights/customer_list.html", context)


@staff_required(*MANAGERS)
def response_list(request: HttpRequest) -> HttpResponse:
    """The answers behind a sentiment number; CSV with ?export=csv."""
    scope, period, window, context = _context(request, "sentiment")
    params = {k: request.GET.get(k, "")[:100] for k in ("kind", "moment", "associate", "theme", "group")}
    responses = selectors.responses_behind(scope, period, params)
    if request.GET.get("export") == "csv":
        rows = list(responses[:EXPORT_LIMIT])
        pii_viewed_many(request, {r.customer_id for r in rows}, action="insights_export")
        return _csv(
            f"responses-{period.start}-{period.end}.csv",
            [
                _("Answered"),
                _("Store"),
                _("Survey"),
                _("Score"),
                _("Moment"),
                _("Associate"),
                _("Customer"),
                _("Comment"),
                _("Themes"),
            ],
            (
                [
                    _date(r.first_answered_at),
                    r.store_code,
                    r.kind,
                    r.score,
                    r.moment,
                    r.associate_code,
                    r.customer.display_name,
                    r.comment,
                    " ".join(r.themes),
                ]
                for r in rows
            ),
        )
    page = Paginator(responses, LIST_PAGE_SIZE).get_page(request.GET.get("page"))
    pii_viewed_many(request, {r.customer_id for r in page}, action="insights_drilldown")
    context |= {
        "title": _describe_responses(params),
        "page_obj": page,
        "list_query": _list_query(request),
        "followup_url": _url_or_blank("feedback:follow_up", "00000000-0000-0000-0000-000000000000"),
    }
    return render(request, "insights/response_list.html", context)


def _summary(customer):
    try:
        return customer.summary
    except customer._meta.model.summary.RelatedObjectDoesNotExist:
        return None


def _date(value) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else ""


def _url_or_blank(name: str, arg: str) -> str:
    try:
        return reverse(name, args=[arg])
    except NoReverseMatch:
        return ""  # that page is not built yet


def _list_query(request: HttpRequest) -> str:
    return urlencode([(k, v) for k, v in request.GET.items() if k not in ("page", "export")])


def _describe(metric: str, params: dict) -> str:
    from insights.personas import BY_CODE
    from profiles.models import Channel, Lifecycle, Moment

    if metric == "moment" and params["moment"] in Moment.values:
        text = Moment(params["moment"]).label
        if params["channel"] in Channel.values:
            text += f" · {Channel(params['channel']).label}"
        return str(text)
    if metric == "stage" and params["stage"] in Lifecycle.values:
        return str(Lifecycle(params["stage"]).label)
    if metric == "persona" and params["persona"] in BY_CODE:
        return str(BY_CODE[params["persona"]].name)
    if metric == "assisted" and params["associate"]:
        return params["associate"]
    return ""


def _describe_responses(params: dict) -> str:
    parts = [str(selectors.RESPONSE_GROUPS.get(params["group"], _("All answers")))]
    for key in ("kind", "moment", "theme", "associate"):
        if params[key]:
            parts.append(params[key].replace("_", " "))
    return " · ".join(parts)


# Spreadsheet apps run cells that start with these as formulas (CSV injection, OWASP).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value) -> str:
    """A cell a spreadsheet will show as text: a leading formula character gets a single quote."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def _csv(filename: str, header: list, rows) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    response.write("\ufeff")  # Excel reads UTF-8 only with a BOM
    writer = csv.writer(response)
    writer.writerow([csv_cell(h) for h in header])
    for row in rows:
        writer.writerow([csv_cell(cell) for cell in row])
    return response
