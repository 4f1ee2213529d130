"""Pulse feedback: one-question surveys, their invitations, the answers, and closing the loop.

Rows that dashboards roll up (``Response``) carry their dimensions denormalized (store, moment, channel,
associate, survey kind) so an NPS by store and month is one GROUP BY over one table.
"""

from __future__ import annotations

import secrets
import uuid

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from profiles.models import Channel, Customer, Moment, Touchpoint


class SurveyKind(models.TextChoices):
    NPS = "nps", _("Net Promoter Score (0-10)")
    CSAT = "csat", _("Satisfaction (1-5)")
    CES = "ces", _("Customer effort (1-7)")
    THUMBS = "thumbs", _("Thumbs up / down")


# (lowest, highest) score of each scale; thumbs are 0 (down) and 1 (up).
SCALES = {
    SurveyKind.NPS: (0, 10),
    SurveyKind.CSAT: (1, 5),
    SurveyKind.CES: (1, 7),
    SurveyKind.THUMBS: (0, 1),
}


class InvitationChannel(models.TextChoices):
    EMAIL = "email", _("Email")
    SMS = "sms", _("SMS")


def _new_salt() -> str:
    return secrets.token_urlsafe(16)


class SurveyQuerySet(models.QuerySet):
    def active(self):
        return self.filter(is_active=True)


class Survey(models.Model):
    """One question asked after the moments it is triggered by.

    ``question`` and ``comment_prompt`` blank mean the built-in wording for the kind, which is translated
    with the rest of the interface; ``translations`` holds custom wording per language
    (``{"fr": {"question": "...", "comment_prompt": "..."}}``).
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=10, choices=SurveyKind.choices, default=SurveyKind.NPS)
    question = models.CharField(
        max_length=300, blank=True, help_text=_("Blank: the standard question for this kind, translated.")
    )
    comment_prompt = models.CharField(
        max_length=300, blank=True, help_text=_("Blank: the standard 'tell us why' prompt, translated.")
    )
    translations = models.JSONField(default=dict, blank=True)
    moments = ArrayField(
        models.CharField(max_length=30, choices=Moment.choices),
        default=list,
        help_text=_("Touchpoints with one of these moments trigger an invitation."),
    )
    channels = ArrayField(
        models.CharField(max_length=10, choices=InvitationChannel.choices),
        default=list,
        help_text=_("In order of preference; the first one she can be reached on is used."),
    )
    delay_minutes = models.PositiveIntegerField(default=120, help_text=_("Wait this long after the touchpoint."))
    is_active = models.BooleanField(default=True)
    # Rotating the salt invalidates every link of this survey at once.
    token_salt = models.CharField(max_length=64, default=_new_salt, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = SurveyQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def scale(self) -> tuple[int, int]:
        return SCALES[SurveyKind(self.kind)]

    def is_detractor(self, score: int) -> bool:
        """The answers that open a follow-up: NPS 0-6, CSAT 1-2, CES 1-2 (hard), thumbs down."""
        return (
            score
            <= {SurveyKind.NPS: 6, SurveyKind.CSAT: 2, SurveyKind.CES: 2, SurveyKind.THUMBS: 0}[SurveyKind(self.kind)]
        )


class InvitationStatus(models.TextChoices):
    SCHEDULED = "scheduled", _("Scheduled")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    ANSWERED = "answered", _("Answered")
    EXPIRED = "expired", _("Expired before sending")
    SUPPRESSED = "suppressed", _("Not sent (consent, cap or unsubscribe)")
    FAILED = "failed", _("Failed")


def _new_key() -> str:
    return secrets.token_urlsafe(18)


def _new_short_code() -> str:
    return secrets.token_urlsafe(8)


class InvitationQuerySet(models.QuerySet):
    def due(self, now=None):
        """Ready to send now, or claimed by a worker whose lease ran out (it died mid-batch)."""
        now = now or timezone.now()
        return self.filter(
            Q(status=InvitationStatus.SCHEDULED, send_after__lte=now)
            | Q(status=InvitationStatus.SENDING, claimed_until__lt=now)
        )


class Invitation(models.Model):
    """One survey question for one customer about one touchpoint.

    At most one per (survey, touchpoint): a NOT NULL unique pair, so re-imports and overlapping scans
    cannot ask twice. The dimensions of the touchpoint are copied so the response can carry them.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    survey = models.ForeignKey(Survey, on_delete=models.PROTECT, related_name="invitations")
    touchpoint = models.ForeignKey(
        Touchpoint, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+", null=False
    )
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="invitations")
    channel = models.CharField(max_length=10, choices=InvitationChannel.choices)
    store_code = models.CharField(max_length=20, blank=True)
    moment = models.CharField(max_length=30, choices=Moment.choices)
    touchpoint_channel = models.CharField(max_length=20, choices=Channel.choices, blank=True)
    associate_code = models.CharField(max_length=100, blank=True)
    occurred_at = models.DateTimeField()
    language = models.CharField(max_length=10, default="en")
    status = models.CharField(max_length=12, choices=InvitationStatus.choices, default=InvitationStatus.SCHEDULED)
    reason = models.CharField(max_length=200, blank=True)
    send_after = models.DateTimeField()
    expires_at = models.DateTimeField(help_text=_("Too old to be meaningful after this: expire instead of sending."))
    token_key = models.CharField(max_length=40, unique=True, default=_new_key, editable=False)
    short_code = models.CharField(max_length=16, unique=True, default=_new_short_code, editable=False)
    attempts = models.PositiveSmallIntegerField(default=0)
    claim_token = models.UUIDField(null=True, blank=True, editable=False)
    claimed_until = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    honeypot_at = models.DateTimeField(null=True, blank=True, help_text=_("A link no person sees was followed."))
    opened_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = InvitationQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["survey", "touchpoint"], name="invitation_once_per_touchpoint"),
        ]
        indexes = [
            # The sender's claim query: only the rows still to send are in this index.
            models.Index(
                fields=["send_after"],
                name="invitation_to_send",
                condition=Q(status__in=["scheduled", "sending"]),
            ),
            # The frequency cap looks up her recent invitations.
            models.Index(fields=["customer", "-send_after"], name="invitation_cap"),
        ]

    def __str__(self) -> str:
        return f"{self.survey_id} -> {self.customer_id} ({self.status})"


class Suppression(models.Model):
    """She asked to stop receiving surveys: respected whatever a later import says about consent."""

    customer = models.OneToOneField(Customer, on_delete=models.CASCADE, related_name="survey_suppression")
    reason = models.CharField(max_length=50, default="unsubscribe")
    via = models.CharField(max_length=20, blank=True)  # one-click, page, admin
    invitation = models.ForeignKey(Invitation, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"suppressed {self.customer_id} ({self.reason})"


class Sentiment(models.TextChoices):
    POSITIVE = "positive", _("Positive")
    NEUTRAL = "neutral", _("Neutral")
    NEGATIVE = "negative", _("Negative")


THEME_LABELS = {
    "wait_time": _("Wait time"),
    "staff": _("Staff"),
    "product_availability": _("Product availability"),
    "price": _("Price"),
    "fitting_room": _("Fitting room"),
    "checkout": _("Checkout"),
    "cleanliness": _("Cleanliness"),
    "product_quality": _("Product quality"),
    "store_ambience": _("Store ambience"),
    "returns": _("Returns"),
}


class Response(models.Model):
    """Her answer. One per invitation: answering again within the link's lifetime replaces it."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    invitation = models.OneToOneField(Invitation, on_delete=models.CASCADE, related_name="response")
    # Every index here is paid on each answer POST: rollups filter by store and time, not by survey.
    survey = models.ForeignKey(Survey, on_delete=models.PROTECT, related_name="responses", db_index=False)
    kind = models.CharField(max_length=10, choices=SurveyKind.choices)
    score = models.SmallIntegerField()
    comment = models.TextField(blank=True, max_length=2000)
    sentiment = models.CharField(max_length=10, choices=Sentiment.choices, blank=True)
    sentiment_score = models.FloatField(null=True, blank=True, help_text=_("VADER compound, -1 to 1."))
    themes = ArrayField(models.CharField(max_length=30), default=list, blank=True)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="survey_responses")
    store_code = models.CharField(max_length=20, blank=True)
    moment = models.CharField(max_length=30, choices=Moment.choices)
    channel = models.CharField(max_length=20, choices=Channel.choices, blank=True)  # the touchpoint's channel
    invitation_channel = models.CharField(max_length=10, choices=InvitationChannel.choices)
    associate_code = models.CharField(max_length=100, blank=True)
    language = models.CharField(max_length=10, default="en")
    answered_at = models.DateTimeField()
    first_answered_at = models.DateTimeField()
    seconds_after_delivery = models.IntegerField(null=True, blank=True)
    bot_suspected = models.BooleanField(default=False)
    bot_reasons = ArrayField(models.CharField(max_length=30), default=list, blank=True)
    commented_at = models.DateTimeField(null=True, blank=True)
    on_timeline_at = models.DateTimeField(
        null=True, blank=True, help_text=_("When her timeline got the feedback_given touchpoint.")
    )

    class Meta:
        indexes = [
            models.Index(fields=["id"], name="response_to_timeline", condition=Q(on_timeline_at__isnull=True)),
            models.Index(fields=["store_code", "-answered_at"], name="response_store_time"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.score} @ {self.store_code}"

    @property
    def theme_labels(self) -> list[str]:
        return [str(THEME_LABELS.get(theme, theme)) for theme in self.themes]


class PendingAnswer(models.Model):
    """A tapped score, committed by the answer POST and not yet applied to her ``Response``.

    The POST writes only this narrow row (one index); ``services.answers_apply`` turns pending answers into
    responses, the invitation's status, her summary's last score and follow-ups, set-based, and deletes
    them in the same transaction (the beat every few seconds; a comment POST for its own invitation).
    Reads that show her answer to her merge in what is still pending (``selectors.answer_of``).
    """

    # No foreign-key constraint: its check would cost every POST; an answer whose invitation is gone is
    # dropped by the next apply.
    invitation = models.ForeignKey(Invitation, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")
    score = models.SmallIntegerField()
    answered_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"pending {self.score} for invitation {self.invitation_id}"


class FollowUpStatus(models.TextChoices):
    OPEN = "open", _("Open")
    CONTACTED = "contacted", _("Contacted")
    RESOLVED = "resolved", _("Resolved")


class FollowUpQuerySet(models.QuerySet):
    def unresolved(self):
        return self.exclude(status=FollowUpStatus.RESOLVED)

    def for_stores(self, codes):
        return self.filter(store_code__in=list(codes))


class FollowUp(models.Model):
    """An unhappy answer the store owes a reply to: contact her, note what happened, resolve."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    response = models.OneToOneField(Response, on_delete=models.CASCADE, related_name="follow_up")
    # Her open follow-ups have their own partial index below; resolved ones are found through the response.
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="follow_ups", db_index=False)
    store_code = models.CharField(max_length=20, blank=True)
    assigned_to = models.ForeignKey(
        "clienteling.Associate", null=True, blank=True, on_delete=models.SET_NULL, related_name="follow_ups"
    )
    associate_code = models.CharField(max_length=100, blank=True, help_text=_("Who served her, as the source said."))
    status = models.CharField(max_length=12, choices=FollowUpStatus.choices, default=FollowUpStatus.OPEN)
    due_at = models.DateTimeField()
    contacted_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolution = models.TextField(blank=True, max_length=2000)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = FollowUpQuerySet.as_manager()

    class Meta:
        ordering = ["due_at"]
        indexes = [
            models.Index(fields=["store_code", "due_at"], name="followup_open_queue", condition=~Q(status="resolved")),
            models.Index(fields=["customer"], name="followup_open_customer", condition=~Q(status="resolved")),
        ]

    def __str__(self) -> str:
        return f"follow-up {self.public_id} ({self.status})"

    @property
    def is_overdue(self) -> bool:
        return self.status != FollowUpStatus.RESOLVED and self.due_at < timezone.now()


class FollowUpEntry(models.Model):
    """The log of a follow-up: contacted, a note, resolved."""

    follow_up = models.ForeignKey(FollowUp, on_delete=models.CASCADE, related_name="entries")
    kind = models.CharField(max_length=12)  # contacted, note, resolved, reopened
    text = models.TextField(blank=True, max_length=2000)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at"]

    def __str__(self) -> str:
        return f"{self.kind} on {self.follow_up_id}"


class ScanState(models.Model):
    """How far the invitation scan has read the touchpoint table (by id), per named scan.

    ``pending_id`` becomes ``last_id`` only once every transaction that was running when it was read
    has finished (``pending_xmax``): a slow import that committed lower ids late is still scanned.
    """

    name = models.CharField(max_length=50, primary_key=True)
    last_id = models.BigIntegerField(default=0)
    pending_id = models.BigIntegerField(default=0)
    pending_xmax = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.name}: {self.last_id}"
