# SQL here is assembled only from constant fragments defined in this module; values are always parameters.
# ruff: noqa: S608, S611
"""Reads behind the dashboards: every number comes from a rollup table, in a fixed number of queries.

Definitions (the same words as docs/metrics.md):
- NPS = % promoters (9-10) - % detractors (0-6) of NPS answers; CSAT = % of CSAT answers that are 4 or 5.
- Repeat-customer rate = purchasers in the period who bought again within the window after one of their
  purchases in the period / purchasers in the period.
- Attribution: linear multi-touch over a 30-day lookback (insights.services).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from django.db import connection
from django.db.models import Count, DateField, F, Q, QuerySet, Subquery, Sum, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import Cast, Coalesce, NullIf, TruncWeek
from django.utils import timezone

from clienteling.models import Associate
from feedback.models import FollowUp, Response
from insights.models import (
    AssistedDaily,
    AssociateWeekly,
    AttributionDaily,
    AttributionWeekly,
    FollowUpDaily,
    InvitationDaily,
    PersonaDaily,
    PurchaseCredit,
    PurchaseFact,
    ResponseDaily,
    ResponseWeekly,
    StageDaily,
    StageFlow,
    ThemeDaily,
    ThemeWeekly,
    TouchpointDaily,
    TouchpointWeekly,
)
from insights.personas import BY_CODE, PERSONAS
from insights.scope import Period, Scope
from profiles.models import MOMENT_PHASE, Channel, Customer, Lifecycle, Moment

MIN_ASSOCIATE_RESPONSES = 5  # below this, an associate's score is hidden: too few answers to be fair
SURVEY_MOMENTS = ("purchased", "store_visit", "service_contact")
TOP_THEMES = 8
EXAMPLES_PER_THEME = 2
EXAMPLE_DAYS = 28  # example comments come from the last four weeks of the period
QUEUE_LENGTH = 10
# Larger scopes x periods are not counted live (about 150 ms at 1M customers, 2M purchases in two years
# over 50 stores): the worker counts them once and the figures are stored (repeat_summary).
LIVE_STORE_DAYS = 1_500


def pct(part, whole) -> float | None:
    return None if not whole else round(100.0 * float(part) / float(whole), 1)


def nps(promoters: int, detractors: int, responses: int) -> float | None:
    """Net Promoter Score, -100..100, one decimal; None without answers."""
    return None if not responses else round(100.0 * (promoters - detractors) / responses, 1)


def _period(qs, period: Period, field_name: str = "day"):
    return qs.filter(**{f"{field_name}__gte": period.start, f"{field_name}__lte": period.end})


def _whole_weeks(period: Period) -> tuple[dt.date, dt.date] | None:
    """The Mondays of the first and the last whole week (Monday to Sunday) inside the period, if any."""
    first = period.start + dt.timedelta(days=-period.start.weekday() % 7)
    last = period.end - dt.timedelta(days=(period.end.weekday() + 1) % 7 + 6)
    return (first, last) if first <= last else None


def rollup_rows(daily, weekly, scope: Scope, period: Period, shape) -> QuerySet:
    """``shape(queryset, week)`` (values + sums over a rollup queryset; ``week`` the expression of a row's
    Monday) over the period, in one query: whole weeks from the weekly table, the days before the first
    and after the last whole week from the daily one.

    A year at 50 stores is a few thousand weekly rows instead of hundreds of thousands of daily ones
    (insights.services, "Weekly rollups"). A group can come back twice, once per table: callers add rows
    up, never index them by key.
    """
    day_week = Cast(TruncWeek("day"), DateField())
    weeks = _whole_weeks(period)
    if weeks is None:
        return shape(_period(scope.filter(daily.objects.all()), period), day_week)
    first, last = weeks
    edges = daily.objects.filter(
        Q(day__gte=period.start, day__lt=first) | Q(day__gt=last + dt.timedelta(days=6), day__lte=period.end)
    )
    whole = weekly.objects.filter(day__gte=first, day__lte=last)
    return shape(scope.filter(whole), F("day")).union(shape(scope.filter(edges), day_week), all=True)


def _weeks(period: Period) -> list[dt.date]:
    """Mondays of every week the period touches, so empty weeks show as gaps, not as missing points."""
    first = period.start - dt.timedelta(days=period.start.weekday())
    return [first + dt.timedelta(weeks=i) for i in range((period.end - first).days // 7 + 1)]


# --- Sentiment ----------------------------------------------------------------------------------------


@dataclass
class Score:
    responses: int = 0
    promoters: int = 0
    passives: int = 0
    detractors: int = 0

    def add(self, other: Score) -> None:
        self.responses += other.responses
        self.promoters += other.promoters
        self.passives += other.passives
        self.detractors += other.detractors

    @property
    def nps(self) -> float | None:
        return nps(self.promoters, self.detractors, self.responses)

    @property
    def satisfied_pct(self) -> float | None:
        return pct(self.promoters, self.responses)


def _score(row: dict) -> Score:
    return Score(row["n"] or 0, row["p"] or 0, row["pa"] or 0, row["d"] or 0)


_SCORE_SUMS = {"n": Sum("responses"), "p": Sum("promoters"), "pa": Sum("passives"), "d": Sum("detractors")}


def sentiment_summary(scope: Scope, period: Period, *, with_associates: bool = True) -> dict:
    """Headline NPS/CSAT, weekly trend, by moment, by associate, response rate, themes.

    Queries: 1 answers by (week, kind, moment) + 1 NPS by associate (managers) + 1 invitations.
    """
    rows = rollup_rows(
        ResponseDaily,
        ResponseWeekly,
        scope,
        period,
        lambda qs, week: qs.annotate(week=week).values("week", "kind", "moment").annotate(**_SCORE_SUMS).order_by(),
    )
    totals: dict[str, Score] = defaultdict(Score)
    weekly: dict[tuple, Score] = defaultdict(Score)
    by_moment: dict[tuple, Score] = defaultdict(Score)
    for row in rows:
        s = _score(row)
        for bucket in (
            totals[row["kind"]],
            weekly[(row["week"], row["kind"])],
            by_moment[(row["moment"], row["kind"])],
        ):
            bucket.add(s)
    by_associate: dict[str, Score] = defaultdict(Score)
    if with_associates:
        for row in rollup_rows(
            ResponseDaily,
            AssociateWeekly,
            scope,
            period,
            lambda qs, _week: (
                qs.filter(kind="nps")
                .exclude(associate_code="")
                .values("associate_code")
                .annotate(**_SCORE_SUMS)
                .order_by()
            ),
        ):
            by_associate[row["associate_code"]].add(_score(row))
    weeks = _weeks(period)
    trend = [
        {
            "week": week,
            "nps_responses": weekly[(week, "nps")].responses,
            "nps": weekly[(week, "nps")].nps,
            "csat_responses": weekly[(week, "csat")].responses,
            "csat": weekly[(week, "csat")].satisfied_pct,
        }
        for week in weeks
    ]
    moments = [
        {
            "moment": m,
            "label": Moment(m).label,
            "nps": by_moment[(m, "nps")],
            "csat": by_moment[(m, "csat")],
        }
        for m in SURVEY_MOMENTS
    ] + [
        {"moment": m, "label": Moment(m).label, "nps": by_moment[(m, "nps")], "csat": by_moment[(m, "csat")]}
        for m in sorted({m for m, _k in by_moment} - set(SURVEY_MOMENTS))
        if m in Moment.values
    ]
    shown = sorted(
        ((code, s) for code, s in by_associate.items() if s.responses >= MIN_ASSOCIATE_RESPONSES),
        key=lambda item: (-item[1].nps if item[1].nps is not None else 1000, item[0]),
    )
    invitations = _period(scope.filter(InvitationDaily.objects.all()), period).aggregate(
        sent=Sum("sent"), answered=Sum("answered")
    )
    return {
        "nps": totals["nps"],
        "csat": totals["csat"],
        "trend": trend,
        "moments": moments,
        "associates": shown,
        "associates_hidden": sum(1 for s in by_associate.values() if s.responses < MIN_ASSOCIATE_RESPONSES),
        "sent": invitations["sent"] or 0,
        "answered": invitations["answered"] or 0,
        "response_rate": pct(invitations["answered"] or 0, invitations["sent"] or 0),
    }


def associate_names(codes) -> dict[str, str]:
    """Display names for associate codes, where a code is a staff member's username (1 query)."""
    codes = list(codes)
    if not codes:
        return {}
    return {a.user.username: a.name for a in Associate.objects.filter(user__username__in=codes).select_related("user")}


def themes_summary(scope: Scope, period: Period) -> dict:
    """Top comment themes with counts, weekly trend and example comments. Queries: 1 rollup + 1 examples."""
    rows = rollup_rows(
        ThemeDaily,
        ThemeWeekly,
        scope,
        period,
        lambda qs, week: (
            qs.annotate(week=week)
            .values("week", "theme")
            .annotate(mentions=Sum("mentions"), detractor_mentions=Sum("detractor_mentions"))
            .order_by()
        ),
    )
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    by_week: dict[tuple, int] = defaultdict(int)
    for row in rows:
        totals[row["theme"]][0] += row["mentions"]
        totals[row["theme"]][1] += row["detractor_mentions"]
        by_week[(row["week"], row["theme"])] += row["mentions"]
    top = sorted(totals.items(), key=lambda item: (-item[1][0], item[0]))[:TOP_THEMES]
    weeks = _weeks(period)
    examples = _theme_examples(scope, period, [theme for theme, _counts in top])
    return {
        "themes": [
            {
                "theme": theme,
                "mentions": counts[0],
                "detractor_mentions": counts[1],
                "trend": [by_week[(week, theme)] for week in weeks],
                "examples": examples.get(theme, []),
            }
            for theme, counts in top
        ],
        "weeks": weeks,
    }


def _theme_examples(scope: Scope, period: Period, themes: list[str]) -> dict[str, list[dict]]:
    """The latest comments on each theme, found through the rollup's example ids (one query: the
    latest buckets per theme, then the answers by primary key)."""
    if not themes:
        return {}
    # Recent buckets only: the examples are the latest comments, and this bounds the read on long periods.
    since = max(period.start, period.end - dt.timedelta(days=EXAMPLE_DAYS - 1))
    store_sql, params = "", [themes, since, period.end]
    if scope.codes is not None:
        store_sql = "AND x.store_code = ANY(%s)"
        params.append(list(scope.codes))
    params.append(EXAMPLES_PER_THEME)
    examples: dict[str, list[dict]] = defaultdict(list)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH latest AS (
                SELECT x.theme, max(x.example_response_id) AS response_id
                FROM insights_themedaily x
                WHERE x.theme = ANY(%s) AND x.day >= %s AND x.day <= %s
                  AND x.example_response_id IS NOT NULL {store_sql}
                GROUP BY x.theme, x.store_code, x.kind
            ), ranked AS (
                SELECT theme, response_id, row_number() OVER (PARTITION BY theme ORDER BY response_id DESC) AS n
                FROM latest
            )
            SELECT ranked.theme, r.comment, r.score, r.kind, r.answered_at
            FROM ranked JOIN feedback_response r ON r.id = ranked.response_id
            WHERE ranked.n <= %s AND r.comment <> ''
            ORDER BY ranked.theme, r.answered_at DESC
            """,
            params,
        )
        for theme, comment, score, kind, answered_at in cursor.fetchall():
            examples[theme].append({"comment": comment, "score": score, "kind": kind, "answered_at": answered_at})
    return examples


def _bounds(period: Period) -> tuple[dt.datetime, dt.datetime]:
    """The period as UTC instants, widened by a day each side (store days are local; rollups are exact,
    raw-row lookups such as example comments only need to be about right)."""
    start = dt.datetime.combine(period.start - dt.timedelta(days=1), dt.time.min, tzinfo=dt.UTC)
    end = dt.datetime.combine(period.end + dt.timedelta(days=2), dt.time.min, tzinfo=dt.UTC)
    return start, end


def followup_summary(scope: Scope, period: Period, *, now: dt.datetime | None = None) -> dict:
    """The detractor follow-up queue: open (due / overdue), resolved in the period and how fast.

    Queries: 1 open counts (live queue, partial index) + 1 resolved rollup + 1 queue page.
    """
    now = now or timezone.now()
    open_counts = scope.filter(FollowUp.objects.unresolved()).aggregate(
        due=Count("pk", filter=Q(due_at__gte=now)), overdue=Count("pk", filter=Q(due_at__lt=now))
    )
    resolved = _period(scope.filter(FollowUpDaily.objects.all()), period).aggregate(
        resolved=Sum("resolved"), within=Sum("within_sla"), seconds=Sum("resolve_seconds")
    )
    n = resolved["resolved"] or 0
    queue = list(
        scope.filter(FollowUp.objects.unresolved())
        .select_related("customer", "response")
        .order_by("due_at")[:QUEUE_LENGTH]
    )
    return {
        "due": open_counts["due"],
        "overdue": open_counts["overdue"],
        "resolved": n,
        "within_sla_pct": pct(resolved["within"] or 0, n),
        "avg_hours_to_resolve": None if not n else round((resolved["seconds"] or 0) / n / 3600, 1),
        "queue": queue,
        "now": now,
    }


# --- Customers ----------------------------------------------------------------------------------------


def repeat_summary(scope: Scope, period: Period, window: int) -> dict:
    """Repeat-customer rate, new vs returning, by month and for the whole period.

    Queries: 1, the stored figures when this scope and period have them (fixed scopes and preset periods:
    insights.services.repeat_figures_refresh; others once counted on request) and they include everything
    the rollups have absorbed. Otherwise +1, the live count over the period's purchase facts, when the scope
    and period are small enough (``LIVE_STORE_DAYS``); when they are not, the summary is ``pending``: the
    page asks the worker to count them (insights.tasks.count_repeat_figures) and shows them when stored.
    """
    rows = _stored_repeat_rows(scope, period, window)
    pending = not rows and _store_days(scope, period) > LIVE_STORE_DAYS
    if not rows and not pending:
        rows = _live_repeat_rows(scope, period, window)
    total = {"purchasers": 0, "repeaters": 0, "new": 0, "orders": 0}
    monthly = []
    for month, purchasers, repeaters, new, orders in rows:
        row = {"purchasers": purchasers, "repeaters": repeaters, "new": new, "orders": int(orders or 0)}
        if month is None:
            total = row
        else:
            monthly.append(row | {"month": month, "rate": pct(repeaters, purchasers), "returning": purchasers - new})
    purchasers = total["purchasers"]
    return {
        "purchasers": purchasers,
        "repeaters": total["repeaters"],
        "rate": pct(total["repeaters"], purchasers),
        "new": total["new"],
        "returning": purchasers - total["new"],
        "orders": total["orders"],
        "monthly": monthly,
        "window": window,
        # Purchases near the end of the period have not had the whole window to be repeated yet.
        "maturing": period.end + dt.timedelta(days=window) > timezone.localdate(),
        "pending": pending,
    }


def _store_days(scope: Scope, period: Period) -> int:
    """How much a live count would read, in store-days (online counts as one more store)."""
    stores = len(scope.codes) if scope.codes is not None else len(scope.stores) + 1
    return stores * period.days


def _stored_repeat_rows(scope: Scope, period: Period, window: int) -> list[tuple]:
    """The stored figures (total row first, then months), or [] when there are none for this scope and
    period or they are behind the touchpoint watermark: a stale figure is never shown.

    Opening figures that were counted on request keeps them another week (``requested_at``, moved at
    most once a day, in the same statement)."""
    store_sql = "s.store_codes IS NULL"
    params = {"start": period.start, "end": period.end, "window": window, "now": timezone.now()}
    if scope.codes is not None:
        store_sql = "s.store_codes = %(codes)s::varchar[]"
        params["codes"] = sorted(set(scope.codes))
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH seen AS (
                UPDATE insights_repeatfigureset s SET requested_at = %(now)s
                WHERE {store_sql} AND s.start = %(start)s AND s."end" = %(end)s
                  AND s.requested_at < %(now)s - interval '1 day'
            )
            SELECT f.month, f.purchasers, f.repeaters, f.new, f.orders
            FROM insights_repeatfigure f
            JOIN insights_repeatfigureset s ON s.id = f.figure_set_id
            JOIN insights_watermark w ON w.name = 'touchpoints' AND w.last_id = s.as_of_id
            WHERE {store_sql} AND s.start = %(start)s AND s."end" = %(end)s AND f.within_days = %(window)s
            ORDER BY f.month NULLS FIRST
            """,
            params,
        )
        return cursor.fetchall()


def _live_repeat_rows(scope: Scope, period: Period, window: int) -> list[tuple]:
    """One index-only scan of the period's purchase facts, grouped per customer twice (per month and over
    the whole period, GROUPING SETS), since distinct customers do not add up."""
    store_sql, params = "", {"start": period.start, "end": period.end, "window": window}
    if scope.codes is not None:
        store_sql = "AND store_code = ANY(%(codes)s)"
        params["codes"] = list(scope.codes)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT month, count(*), count(*) FILTER (WHERE repeated), count(*) FILTER (WHERE first_ever),
                   sum(orders)
            FROM (
                SELECT customer_id, date_trunc('month', day)::date AS month,
                       bool_or(next_gap_days <= %(window)s) AS repeated, bool_or(ordinal = 1) AS first_ever,
                       count(*) AS orders
                FROM insights_purchasefact
                WHERE day >= %(start)s AND day <= %(end)s {store_sql}
                GROUP BY GROUPING SETS ((customer_id, date_trunc('month', day)::date), (customer_id))
            ) per_customer
            GROUP BY month ORDER BY month NULLS FIRST
            """,
            params,
        )
        return cursor.fetchall()


def lifecycle_summary(scope: Scope, period: Period) -> dict:
    """Stage distribution on the latest snapshot in the period, moves between stages, lapsed VIPs.

    Queries: 1 distribution on the latest snapshot day + 1 flows.
    """
    snapshots = scope.filter(StageDaily.objects.filter(day__lte=period.end))
    latest_day = Subquery(snapshots.order_by("-day").values("day")[:1])
    stages = {s: {"stage": s, "label": Lifecycle(s).label, "customers": 0, "vips": 0} for s in Lifecycle.values}
    latest = None
    for row in snapshots.filter(day=latest_day).values("day", "stage").annotate(c=Sum("customers"), v=Sum("vips")):
        latest = row["day"]
        if row["stage"] in stages:
            stages[row["stage"]]["customers"] = row["c"]
            stages[row["stage"]]["vips"] = row["v"]
    total = sum(s["customers"] for s in stages.values())
    for s in stages.values():
        s["pct"] = pct(s["customers"], total)
    flows = list(
        _period(scope.filter(StageFlow.objects.exclude(from_stage="")), period)
        .values("from_stage", "to_stage")
        .annotate(customers=Sum("customers"))
        .order_by("-customers")
    )
    labels = dict(Lifecycle.choices)
    for flow in flows:
        flow["from_label"] = labels.get(flow["from_stage"], flow["from_stage"])
        flow["to_label"] = labels.get(flow["to_stage"], flow["to_stage"])
    return {
        "as_of": latest,
        "stages": list(stages.values()),
        "total": total,
        "flows": flows,
        "lapsed_vips": stages[Lifecycle.LAPSED]["vips"],
    }


# --- Moments and attribution -----------------------------------------------------------------------------


def moments_summary(scope: Scope, period: Period) -> dict:
    """Funnel of the 20 moments, revenue credited by moment and channel, associate-influenced sales.

    Queries: 1 touchpoints by moment + 1 attribution by (moment, channel) (which also gives the purchase
    and revenue totals) + 1 assisted purchases by associate.
    """
    touches: dict[str, int] = defaultdict(int)
    for moment, n in rollup_rows(
        TouchpointDaily,
        TouchpointWeekly,
        scope,
        period,
        lambda qs, _week: qs.values_list("moment").annotate(n=Sum("touchpoints")).order_by(),
    ):
        touches[moment] += n
    credit_rows = list(
        rollup_rows(
            AttributionDaily,
            AttributionWeekly,
            scope,
            period,
            lambda qs, _week: (
                qs.values("moment", "channel")
                .annotate(revenue=Sum("revenue"), credit=Sum("credit"), purchases=Sum("purchases"))
                .order_by()
            ),
        )
    )
    # Each purchase's credits add up to one purchase and to its revenue, so the totals come for free.
    total_purchases = round(sum(row["credit"] or 0 for row in credit_rows))
    total_revenue = sum((row["revenue"] or 0) for row in credit_rows)
    by_moment: dict[str, dict] = defaultdict(lambda: {"revenue": 0, "credit": 0.0, "preceded": 0})
    by_channel: dict[str, dict] = defaultdict(lambda: {"revenue": 0, "credit": 0.0})
    for row in credit_rows:
        m = by_moment[row["moment"]]
        m["revenue"] += row["revenue"] or 0
        m["credit"] += row["credit"] or 0
        m["preceded"] += row["purchases"] or 0
        c = by_channel[row["channel"]]
        c["revenue"] += row["revenue"] or 0
        c["credit"] += row["credit"] or 0
    funnel = []
    for moment in Moment:
        if moment in ("purchased", "returned"):
            continue
        m = by_moment.get(moment.value, {"revenue": 0, "credit": 0.0, "preceded": 0})
        funnel.append(
            {
                "moment": moment.value,
                "label": moment.label,
                "phase": MOMENT_PHASE[moment.value],
                "touchpoints": touches.get(moment.value, 0),
                "preceded": m["preceded"],
                "preceded_pct": pct(m["preceded"], total_purchases),
                "revenue": m["revenue"],
                "revenue_pct": pct(m["revenue"], total_revenue),
            }
        )
    direct = by_moment.get("purchased", {"revenue": 0, "credit": 0.0, "preceded": 0})
    channels = [
        {
            "channel": ch.value,
            "label": ch.label,
            "revenue": by_channel[ch.value]["revenue"],
            "revenue_pct": pct(by_channel[ch.value]["revenue"], total_revenue),
        }
        for ch in Channel
        if ch.value in by_channel
    ]
    channels.sort(key=lambda c: -c["revenue"])
    assisted = list(
        _period(scope.filter(AssistedDaily.objects.all()), period)
        .values("associate_code")
        .annotate(purchases=Sum("purchases"), revenue=Sum("revenue"))
        .order_by("-revenue")
    )
    assisted_total = {
        "purchases": sum(a["purchases"] for a in assisted),
        "revenue": sum((a["revenue"] or 0) for a in assisted),
    }
    return {
        "funnel": sorted(funnel, key=lambda m: -m["revenue"]),
        "direct": direct,
        "channels": channels,
        "purchases": total_purchases,
        "revenue": total_revenue,
        "assisted": assisted,
        "assisted_total": assisted_total,
        "assisted_pct": pct(assisted_total["revenue"], total_revenue),
    }


# --- Personas ------------------------------------------------------------------------------------------


def personas_summary(scope: Scope, period: Period) -> dict:
    """Size of each persona on the latest nightly count, and its weekly trend. Queries: 1."""
    rows = list(
        _period(scope.filter(PersonaDaily.objects.all()), period)
        .values("day", "persona")
        .annotate(customers=Sum("customers"))
        .order_by("day")
    )
    by_day: dict[dt.date, dict[str, int]] = defaultdict(dict)
    for row in rows:
        by_day[row["day"]][row["persona"]] = row["customers"]
    days = sorted(by_day)
    latest = days[-1] if days else None
    # One point a week (the last nightly count of each week) keeps long periods readable.
    week_ends: dict[dt.date, dt.date] = {}
    for day in days:
        week_ends[day - dt.timedelta(days=day.weekday())] = day
    trend_days = sorted(week_ends.values())
    total = sum(by_day[latest].values()) if latest else 0
    personas = []
    for persona in PERSONAS:
        size = by_day[latest].get(persona.code, 0) if latest else 0
        first = by_day[trend_days[0]].get(persona.code, 0) if trend_days else 0
        personas.append(
            {
                "persona": persona,
                "customers": size,
                "pct": pct(size, total),
                "change": size - first,
                "trend": [by_day[d].get(persona.code, 0) for d in trend_days],
            }
        )
    return {"as_of": latest, "personas": personas, "total": total, "trend_days": trend_days}


def persona(code: str):
    return BY_CODE.get(code)


# --- Drill-down: the customers and answers behind a number ------------------------------------------------

CUSTOMER_METRICS = {
    "purchasers": "Bought in the period",
    "repeaters": "Bought again within the window",
    "new": "First purchase ever in the period",
    "returning": "Returning purchasers",
    "assisted": "Bought within 14 days after an assisted visit",
    "moment": "Bought after this moment",
    "stage": "In this lifecycle stage",
    "lapsed_vips": "Lapsed VIPs",
    "persona": "In this persona",
}


def customers_behind(scope: Scope, period: Period, window: int, metric: str, params) -> QuerySet:
    """The customers a dashboard number counts, under the same definition and scope as the number."""
    from insights.services import VIP_TIERS

    facts = _period(PurchaseFact.objects.all(), period)
    if metric in {"purchasers", "repeaters", "new", "returning", "moment"}:
        facts = scope.filter(facts)
        if metric == "repeaters":
            facts = facts.filter(next_gap_days__lte=window)
        elif metric == "new":
            facts = facts.filter(ordinal=1)
        elif metric == "returning":
            facts = facts.exclude(customer_id__in=facts.filter(ordinal=1).values("customer_id"))
        elif metric == "moment":
            credits = PurchaseCredit.objects.filter(moment=params.get("moment", ""))
            if params.get("channel"):
                credits = credits.filter(channel=params["channel"])
            facts = facts.filter(touchpoint_id__in=credits.values("purchase_id"))
        ids = facts.values("customer_id")
    elif metric == "assisted":
        facts = scope.filter(facts.exclude(assisted_store_code=""), "assisted_store_code")
        if params.get("associate"):
            facts = facts.filter(assisted_associate_code=params["associate"])
        ids = facts.values("customer_id")
    else:
        people = Customer.objects.live().annotate(
            home=Coalesce(NullIf(F("home_store_code"), Value("")), F("summary__preferred_store"), Value(""))
        )
        people = scope.filter(people, "home")
        if metric == "stage":
            people = people.filter(lifecycle=params.get("stage", ""))
        elif metric == "lapsed_vips":
            people = people.filter(lifecycle=Lifecycle.LAPSED, tier__in=VIP_TIERS)
        elif metric == "persona":
            people = people.filter(summary__persona=params.get("persona", ""))
        else:
            return Customer.objects.none()
        ids = people.values("pk")
    return (
        Customer.objects.live().filter(pk__in=ids).select_related("summary").order_by("last_name", "first_name", "pk")
    )


RESPONSE_GROUPS = {
    "promoters": "Promoters / satisfied",
    "passives": "Passives",
    "detractors": "Detractors / unsatisfied",
    "commented": "With a comment",
}
_GROUP_SQL = {
    "promoters": "CASE kind WHEN 'nps' THEN score >= 9 WHEN 'csat' THEN score >= 4 WHEN 'ces' THEN score >= 6 ELSE score >= 1 END",
    "detractors": "CASE kind WHEN 'nps' THEN score <= 6 WHEN 'csat' THEN score <= 2 WHEN 'ces' THEN score <= 2 ELSE score <= 0 END",
}


def responses_behind(scope: Scope, period: Period, params) -> QuerySet:
    """The answers a sentiment number counts: same scope, same local days (of the first answer), no bots."""
    start, end = _bounds(period)
    local_day = RawSQL(
        "(feedback_response.first_answered_at AT TIME ZONE COALESCE("
        "(SELECT s.timezone FROM clienteling_store s WHERE s.code = feedback_response.store_code), 'UTC'))::date",
        [],
    )
    qs = (
        scope.filter(Response.objects.filter(bot_suspected=False, answered_at__gte=start))
        .filter(first_answered_at__lt=end)
        .alias(local_day=local_day)
        .filter(local_day__gte=period.start, local_day__lte=period.end)
    )
    if params.get("kind"):
        qs = qs.filter(kind=params["kind"])
    if params.get("moment"):
        qs = qs.filter(moment=params["moment"])
    if params.get("associate"):
        qs = qs.filter(associate_code=params["associate"])
    if params.get("theme"):
        qs = qs.filter(themes__contains=[params["theme"]])
    group = params.get("group", "")
    if group in _GROUP_SQL:
        qs = qs.alias(in_group=RawSQL(_GROUP_SQL[group], [])).filter(in_group=True)
    elif group == "passives":
        qs = qs.alias(p=RawSQL(_GROUP_SQL["promoters"], []), d=RawSQL(_GROUP_SQL["detractors"], [])).filter(
            p=False, d=False
        )
    elif group == "commented":
        qs = qs.exclude(comment="")
    return qs.select_related("customer", "follow_up").order_by("-first_answered_at", "-pk")
