"""Rollups behind the manager dashboards.

Dashboards never aggregate raw touchpoints or responses per request: Celery keeps these tables up to
date incrementally from a watermark (the highest source id already folded in), and
``manage.py insights_rebuild`` recomputes them from scratch for backfills. Metric definitions:
docs/metrics.md.

Stores are referred to by code (``store_code``), as touchpoints write them; "" is online / no store.
Days and weeks are calendar dates in the store's own time zone (UTC for online).

The ``...Weekly`` tables hold the sums of a daily table per local week (Monday to Sunday; ``day`` is the
Monday), over fewer dimensions where the dashboards need fewer: long periods read whole weeks from them
and only the partial weeks at their ends from the days (``insights.selectors.rollup_rows``). They change
in the same transaction as their days (``insights.services``, "Weekly rollups").
"""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils.translation import gettext_lazy as _


class Rollup(models.Model):
    """A row of a rollup table; shown in the admin and shell by its bucket."""

    class Meta:
        abstract = True

    def __str__(self) -> str:
        keys = ("store_code", "day", "moment", "channel", "kind", "stage", "persona", "theme")
        return " ".join(str(getattr(self, key)) for key in keys if hasattr(self, key))


class Watermark(models.Model):
    """How far a rollup has read its source table: everything with ``id <= last_id`` is folded in."""

    name = models.CharField(max_length=50, primary_key=True)
    last_id = models.BigIntegerField(default=0)
    # A higher id seen while older transactions were still running: folded in once they have finished,
    # since a slow import can commit ids lower than ones already visible.
    pending_id = models.BigIntegerField(default=0)
    pending_xmax = models.BigIntegerField(default=0)
    last_at = models.DateTimeField(null=True, blank=True, help_text=_("For time-based scans: read up to here."))
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.name} @ {self.last_id}"


class TouchpointDaily(Rollup):
    """Touchpoints per store, local day, moment and channel (additive: new rows add to their bucket)."""

    store_code = models.CharField(max_length=20)
    day = models.DateField()
    moment = models.CharField(max_length=30)
    channel = models.CharField(max_length=20)
    touchpoints = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["store_code", "day", "moment", "channel"], name="touchpoint_daily_bucket")
        ]
        indexes = [models.Index(fields=["day", "store_code"], name="touchpoint_daily_day")]


class TouchpointWeekly(Rollup):
    """Touchpoints per store, local week and moment (the funnel needs no channel)."""

    store_code = models.CharField(max_length=20)
    day = models.DateField()
    moment = models.CharField(max_length=30)
    touchpoints = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["store_code", "day", "moment"], name="touchpoint_weekly_bucket")]
        indexes = [models.Index(fields=["day", "store_code"], name="touchpoint_weekly_day")]


class PurchaseCredit(Rollup):
    """A purchase's linear multi-touch credit, per moment and channel (what AttributionDaily sums)."""

    purchase_id = models.BigIntegerField()
    customer_id = models.BigIntegerField()
    moment = models.CharField(max_length=30)
    channel = models.CharField(max_length=20)
    credit = models.FloatField()
    revenue = models.DecimalField(max_digits=16, decimal_places=4)

    class Meta:
        indexes = [models.Index(fields=["customer_id"], name="purchase_credit_customer")]


class PurchaseFact(Rollup):
    """One row per purchase touchpoint, with what the dashboards need to know about it.

    Recomputed per customer whenever any of her touchpoints arrive (a late web visit can change the
    attribution of a purchase made after it; a late purchase changes the next-purchase gap of the one
    before it).
    """

    touchpoint_id = models.BigIntegerField(primary_key=True)
    customer_id = models.BigIntegerField()
    store_code = models.CharField(max_length=20, blank=True)
    day = models.DateField(help_text=_("Day of the purchase in the store's time zone."))
    occurred_at = models.DateTimeField()
    channel = models.CharField(max_length=20)
    revenue = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    ordinal = models.PositiveIntegerField(help_text=_("1 for her first purchase ever, 2 for the second..."))
    next_gap_days = models.IntegerField(null=True, blank=True, help_text=_("Days until her next purchase."))
    touches = models.PositiveIntegerField(default=0, help_text=_("Touchpoints in the 30-day lookback."))
    assisted_store_code = models.CharField(max_length=20, blank=True)
    assisted_associate_code = models.CharField(max_length=100, blank=True)

    class Meta:
        indexes = [
            # Covering: the repeat-rate read is an index-only scan of the period's purchases.
            models.Index(
                fields=["store_code", "day"],
                include=["customer_id", "next_gap_days", "ordinal"],
                name="purchase_fact_store_day",
            ),
            models.Index(fields=["day"], include=["customer_id", "next_gap_days", "ordinal"], name="purchase_fact_day"),
            models.Index(fields=["customer_id", "occurred_at"], name="purchase_fact_customer"),
            models.Index(fields=["assisted_store_code", "day"], name="purchase_fact_assisted"),
        ]


class AssistedDaily(Rollup):
    """Associate-influenced purchases per assisted store, local purchase day and associate (additive)."""

    store_code = models.CharField(max_length=20)
    day = models.DateField()
    associate_code = models.CharField(max_length=100)
    purchases = models.IntegerField(default=0)
    revenue = models.DecimalField(max_digits=16, decimal_places=2, default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["store_code", "day", "associate_code"], name="assisted_daily_bucket")
        ]
        indexes = [models.Index(fields=["day", "store_code"], name="assisted_daily_day")]


class AttributionCounts(Rollup):
    store_code = models.CharField(max_length=20)
    day = models.DateField()
    moment = models.CharField(max_length=30)
    channel = models.CharField(max_length=20)
    revenue = models.DecimalField(max_digits=16, decimal_places=4, default=0)
    credit = models.FloatField(default=0, help_text=_("Purchases credited (sum of shares)."))
    purchases = models.IntegerField(default=0, help_text=_("Purchases with at least one such touch before them."))

    class Meta:
        abstract = True


class AttributionDaily(AttributionCounts):
    """Revenue credited to each moment and channel, per purchase store and local purchase day.

    Linear multi-touch over a 30-day lookback: each touchpoint in the 30 days before a purchase gets an
    equal share of its revenue; a purchase with no prior touch credits its own moment and channel
    (``moment="purchased"``, "direct").
    """

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["store_code", "day", "moment", "channel"], name="attribution_daily_bucket")
        ]
        indexes = [models.Index(fields=["day", "store_code"], name="attribution_daily_day")]


class AttributionWeekly(AttributionCounts):
    """The same credit per local week of the purchase."""

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["store_code", "day", "moment", "channel"], name="attribution_weekly_bucket")
        ]
        indexes = [models.Index(fields=["day", "store_code"], name="attribution_weekly_day")]


class StageDaily(Rollup):
    """Nightly snapshot: customers per home store and lifecycle stage (and how many of them are VIPs)."""

    day = models.DateField()
    store_code = models.CharField(max_length=20)
    stage = models.CharField(max_length=20)
    customers = models.IntegerField(default=0)
    vips = models.IntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["day", "store_code", "stage"], name="stage_daily_bucket")]


class CustomerStage(Rollup):
    """The stage each customer was in at the last nightly snapshot, to count moves between stages."""

    customer_id = models.BigIntegerField(primary_key=True)
    store_code = models.CharField(max_length=20, blank=True)
    stage = models.CharField(max_length=20)
    since = models.DateField()


class StageFlow(Rollup):
    """Customers who moved from one lifecycle stage to another on a day (nightly)."""

    day = models.DateField()
    store_code = models.CharField(max_length=20)
    from_stage = models.CharField(max_length=20)
    to_stage = models.CharField(max_length=20)
    customers = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["day", "store_code", "from_stage", "to_stage"], name="stage_flow_bucket")
        ]


class PersonaDaily(Rollup):
    """Nightly: customers per home store and persona (size and trend)."""

    day = models.DateField()
    store_code = models.CharField(max_length=20)
    persona = models.CharField(max_length=50)
    customers = models.IntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["day", "store_code", "persona"], name="persona_daily_bucket")]


class ResponseCounts(Rollup):
    responses = models.IntegerField(default=0)
    promoters = models.IntegerField(default=0)
    passives = models.IntegerField(default=0)
    detractors = models.IntegerField(default=0)
    score_sum = models.IntegerField(default=0)
    commented = models.IntegerField(default=0)

    class Meta:
        abstract = True


class ResponseDaily(ResponseCounts):
    """Survey answers per store, local day, survey kind, moment and associate.

    ``promoters``/``passives``/``detractors`` follow each kind's scale: NPS 9-10 / 7-8 / 0-6,
    CSAT 4-5 / 3 / 1-2. Answers flagged as bots are left out. A bucket is recomputed whole whenever
    one of its answers is new or changed, so re-answers and late comments are counted once.
    """

    store_code = models.CharField(max_length=20)
    day = models.DateField()
    kind = models.CharField(max_length=10)
    moment = models.CharField(max_length=30)
    associate_code = models.CharField(max_length=100)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["store_code", "day", "kind", "moment", "associate_code"], name="response_daily_bucket"
            )
        ]
        indexes = [models.Index(fields=["day", "store_code"], name="response_daily_day")]


class ResponseWeekly(ResponseCounts):
    """Answers per store, local week (of the first answer), survey kind and moment: trend and moments."""

    store_code = models.CharField(max_length=20)
    day = models.DateField()
    kind = models.CharField(max_length=10)
    moment = models.CharField(max_length=30)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["store_code", "day", "kind", "moment"], name="response_weekly_bucket")
        ]
        indexes = [models.Index(fields=["day", "store_code"], name="response_weekly_day")]


class AssociateWeekly(ResponseCounts):
    """Answers per store, local week, survey kind and associate: the scores by associate."""

    store_code = models.CharField(max_length=20)
    day = models.DateField()
    kind = models.CharField(max_length=10)
    associate_code = models.CharField(max_length=100)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["store_code", "day", "kind", "associate_code"], name="associate_weekly_bucket"
            )
        ]
        indexes = [models.Index(fields=["day", "store_code"], name="associate_weekly_day")]


class ThemeDaily(Rollup):
    """Comment themes per store, local day and survey kind, with how many came from detractors."""

    store_code = models.CharField(max_length=20)
    day = models.DateField()
    kind = models.CharField(max_length=10)
    theme = models.CharField(max_length=30)
    mentions = models.IntegerField(default=0)
    detractor_mentions = models.IntegerField(default=0)
    # The latest answer with a comment in this bucket: example comments come from here, so the dashboard
    # never scans answers for a theme that is rare in a store.
    example_response_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["store_code", "day", "kind", "theme"], name="theme_daily_bucket")
        ]
        indexes = [models.Index(fields=["day", "store_code"], name="theme_daily_day")]


class ThemeWeekly(Rollup):
    """Comment themes per store and local week (examples come from the days)."""

    store_code = models.CharField(max_length=20)
    day = models.DateField()
    theme = models.CharField(max_length=30)
    mentions = models.IntegerField(default=0)
    detractor_mentions = models.IntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["store_code", "day", "theme"], name="theme_weekly_bucket")]
        indexes = [models.Index(fields=["day", "store_code"], name="theme_weekly_day")]


class InvitationDaily(Rollup):
    """Invitations sent per store and local send day, and how many of them were answered."""

    store_code = models.CharField(max_length=20)
    day = models.DateField()
    sent = models.IntegerField(default=0)
    answered = models.IntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["store_code", "day"], name="invitation_daily_bucket")]


class FollowUpDaily(Rollup):
    """Detractor follow-ups resolved per store and local day: how fast, and how many within their SLA."""

    store_code = models.CharField(max_length=20)
    day = models.DateField()
    resolved = models.IntegerField(default=0)
    within_sla = models.IntegerField(default=0)
    resolve_seconds = models.BigIntegerField(default=0, help_text=_("Sum of created-to-resolved times."))

    class Meta:
        constraints = [models.UniqueConstraint(fields=["store_code", "day"], name="followup_daily_bucket")]


class RepeatFigureSet(models.Model):
    """A scope and period whose repeat-customer figures are kept precomputed.

    Distinct purchasers do not add up across days, so the live figure scans the period's purchase facts
    (1M for a year at every store). For the scopes and periods the dashboards open most (each store,
    each region, everything; the presets ending today and tomorrow) the figures are stored instead and
    kept exact in the same transaction that changes the purchase facts (insights.services). So are those
    of any other scope and period too large to count live, once a dashboard has asked for them (the
    worker counts them; ``requested_at``). The selector serves them only when ``as_of_id`` is the current
    touchpoint watermark.
    """

    store_codes = ArrayField(
        models.CharField(max_length=20), null=True, blank=True, help_text=_("Sorted; null = every store and online.")
    )
    start = models.DateField()
    end = models.DateField()
    as_of_id = models.BigIntegerField(help_text=_("The touchpoint watermark these figures include."))
    computed_at = models.DateTimeField()
    requested_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text=_(
            "Last asked for by a dashboard (a scope or period that is not precomputed); kept a week from then."
        ),
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["store_codes", "start", "end"], nulls_distinct=False, name="repeat_figure_set_scope_period"
            )
        ]

    def __str__(self) -> str:
        return f"{','.join(self.store_codes or ['*'])} {self.start}..{self.end} @ {self.as_of_id}"


class RepeatFigure(models.Model):
    """Repeat-customer counts of a figure set for one window: per month (``month``) and in total (NULL).

    The same numbers the live query in ``selectors.repeat_summary`` gives; the total row exists even when
    nobody bought, a month row only while it has purchasers.
    """

    figure_set = models.ForeignKey(RepeatFigureSet, on_delete=models.DB_CASCADE, related_name="figures")
    within_days = models.PositiveSmallIntegerField()
    month = models.DateField(null=True, blank=True)
    purchasers = models.IntegerField(default=0)
    repeaters = models.IntegerField(default=0)
    new = models.IntegerField(default=0)
    orders = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["figure_set", "within_days", "month"], nulls_distinct=False, name="repeat_figure_bucket"
            )
        ]

    def __str__(self) -> str:
        return f"{self.figure_set_id} {self.within_days}d {self.month or 'total'}"
