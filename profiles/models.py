"""Unified customer profiles: who she is, every touchpoint on one timeline, what she cares about.

``profiles`` imports neither ``feedback`` nor ``clienteling``: stores and associates are referred to by
their codes as channel files write them (``store_code``, ``associate_code``), which also keeps foreign-key
checks off the bulk touchpoint insert.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.postgres.functions import RandomUUID
from django.contrib.postgres.indexes import OpClass
from django.db import models
from django.db.models import Q
from django.db.models.functions import Reverse
from django.utils.translation import gettext_lazy as _


class Moment(models.TextChoices):
    """The 20 moments that matter (DESIGN.md): every touchpoint maps to one."""

    NEWSLETTER_SIGNUP = "newsletter_signup", _("Newsletter sign-up")
    ACCOUNT_CREATED = "account_created", _("Account created")
    SIGNED_IN = "signed_in", _("Signed in")
    SEARCHED = "searched", _("Searched")
    PRODUCT_VIEWED = "product_viewed", _("Viewed a product")
    WISHLISTED = "wishlisted", _("Wishlisted")
    CART_ADDED = "cart_added", _("Added to cart")
    CHECKOUT_STARTED = "checkout_started", _("Started checkout")
    APPOINTMENT_BOOKED = "appointment_booked", _("Booked an appointment")
    STORE_VISIT = "store_visit", _("Visited a store")
    ASSOCIATE_ASSISTED = "associate_assisted", _("Helped by an associate")
    EVENT_ATTENDED = "event_attended", _("Attended an event")
    PURCHASED = "purchased", _("Purchased")
    RETURNED = "returned", _("Returned")
    SERVICE_CONTACT = "service_contact", _("Contacted service")
    COMPLAINT = "complaint", _("Complained")
    FEEDBACK_GIVEN = "feedback_given", _("Gave feedback")
    REVIEW_WRITTEN = "review_written", _("Wrote a review")
    SHARED = "shared", _("Shared")
    REFERRED = "referred", _("Referred someone")


MOMENT_PHASE = {
    "newsletter_signup": "acquisition",
    "account_created": "acquisition",
    "searched": "acquisition",
    "product_viewed": "acquisition",
    "signed_in": "engagement",
    "wishlisted": "engagement",
    "cart_added": "engagement",
    "checkout_started": "engagement",
    "appointment_booked": "engagement",
    "store_visit": "engagement",
    "associate_assisted": "engagement",
    "event_attended": "engagement",
    "purchased": "purchase",
    "returned": "purchase",
    "service_contact": "retention",
    "complaint": "retention",
    "feedback_given": "retention",
    "review_written": "advocacy",
    "shared": "advocacy",
    "referred": "advocacy",
}


class Channel(models.TextChoices):
    WEB = "web", _("Web")
    APP = "app", _("App")
    STORE = "store", _("Store")
    KIOSK = "kiosk", _("Kiosk")
    CALL_CENTER = "call_center", _("Call center")
    CHAT = "chat", _("Chat")
    EMAIL = "email", _("Email")
    SMS = "sms", _("SMS")
    SOCIAL = "social", _("Social")


class Lifecycle(models.TextChoices):
    PROSPECT = "prospect", _("Prospect")
    NEW = "new", _("New")
    REPEAT = "repeat", _("Repeat")
    LOYAL = "loyal", _("Loyal")
    LAPSED = "lapsed", _("Lapsed")


class Tier(models.TextChoices):
    NONE = "", _("No tier")
    SILVER = "silver", _("Silver")
    GOLD = "gold", _("Gold")
    PLATINUM = "platinum", _("Platinum")


class ConsentPurpose(models.TextChoices):
    RECOGNITION = "recognition", _("In-store recognition")
    EMAIL = "email", _("Email")
    SMS = "sms", _("SMS")
    SURVEYS = "surveys", _("Surveys")


class CustomerQuerySet(models.QuerySet):
    def live(self):
        """Customers that are neither merged into another nor erased."""
        return self.filter(merged_into__isnull=True, erased_at__isnull=True)

    def recognizable(self):
        return self.live().filter(consent_recognition=True)


class Customer(models.Model):
    """One person, across every channel.

    The table also has a ``search_tokens`` column the ORM does not see: kept by PostgreSQL triggers from her
    names (migrations ``search_fields`` and ``search_tokens_trigger``, see ``profiles/search.py``) and
    GIN-indexed for customer search.
    """

    # The ORM draws it in Python; the importer's COPY leaves it to the database's default (uuid.uuid4() and its
    # text form were ~1.6 s of Python for the 211k customers of a 1M-row file).
    public_id = models.UUIDField(default=uuid.uuid4, db_default=RandomUUID(), unique=True, editable=False)
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    preferred_name = models.CharField(max_length=100, blank=True)
    pronunciation = models.CharField(max_length=100, blank=True, help_text=_("How to say her name, e.g. 'SHAV-on'."))
    birthday_month = models.PositiveSmallIntegerField(null=True, blank=True)
    birthday_day = models.PositiveSmallIntegerField(null=True, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    home_store_code = models.CharField(max_length=20, blank=True)
    tier = models.CharField(max_length=20, choices=Tier.choices, blank=True, default=Tier.NONE)
    lifecycle = models.CharField(max_length=20, choices=Lifecycle.choices, default=Lifecycle.PROSPECT)

    # Consent per purpose: the current state plus where and when it was last set.
    consent_recognition = models.BooleanField(default=False)
    consent_recognition_source = models.CharField(max_length=100, blank=True)
    consent_recognition_at = models.DateTimeField(null=True, blank=True)
    consent_email = models.BooleanField(default=False)
    consent_email_source = models.CharField(max_length=100, blank=True)
    consent_email_at = models.DateTimeField(null=True, blank=True)
    consent_sms = models.BooleanField(default=False)
    consent_sms_source = models.CharField(max_length=100, blank=True)
    consent_sms_at = models.DateTimeField(null=True, blank=True)
    consent_surveys = models.BooleanField(default=False)
    consent_surveys_source = models.CharField(max_length=100, blank=True)
    consent_surveys_at = models.DateTimeField(null=True, blank=True)

    merged_into = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="absorbed")
    erased_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = CustomerQuerySet.as_manager()

    def __str__(self) -> str:
        return self.display_name or str(self.public_id)

    @property
    def display_name(self) -> str:
        return " ".join(part for part in (self.first_name, self.last_name) if part)

    @property
    def greeting_name(self) -> str:
        return self.preferred_name or self.first_name


class IdentifierKind(models.TextChoices):
    EMAIL = "email", _("Email")
    PHONE = "phone", _("Phone")
    LOYALTY_ID = "loyalty_id", _("Loyalty ID")
    CUSTOMER_ID = "customer_id", _("Source customer ID")
    ANONYMOUS_ID = "anonymous_id", _("Anonymous ID")


class Identifier(models.Model):
    """A normalized identifier that points at one customer.

    ``namespace`` is the source's name for source-scoped kinds (customer_id, anonymous_id) and empty for
    global ones (email, phone, loyalty_id), so the same CRM id in two systems never links two people.
    """

    # No single-column indexes on the foreign keys: (customer, kind) below serves customer lookups, and
    # nothing reads identifiers by source; every index here is paid on each imported identifier.
    # No constraint: identifiers are written only with their customer (new ones in the same transaction) and
    # customers are never deleted but through the ORM, which cascades; the check at commit cost ~2.3 s of
    # a 1M-row import (431k identifiers).
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="identifiers", db_index=False, db_constraint=False
    )
    kind = models.CharField(max_length=20, choices=IdentifierKind.choices)
    namespace = models.CharField(max_length=100, blank=True, default="")
    # Compared byte by byte ("C"): the unique key's index then also finds values by prefix (an email as the
    # associate types it), which needs no index of its own. Equality, all that identity resolution uses, is
    # the same in every deterministic collation.
    value = models.CharField(max_length=320, db_collation="C")
    # Nor on the source: it is set from the importing job's own source, and a source deleted through the ORM
    # still nulls it (SET_NULL); its check at commit cost ~1.8 s of a 1M-row import.
    source = models.ForeignKey(
        "profiles.Source",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kind", "namespace", "value"], name="identifier_unique_value")]
        indexes = [
            models.Index(fields=["customer", "kind"]),
            # Customer search (profiles/search.py): phone by its last digits (email by prefix uses the unique key).
            models.Index(
                OpClass(Reverse("value"), name="text_pattern_ops"),
                condition=Q(kind="phone"),
                name="identifier_phone_suffix",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind}:{self.value}"


class ErasedIdentifier(models.Model):
    """A hashed tombstone of an erased customer's identifier: her data never comes back through re-import.

    Only a SHA-256 digest of ``kind:namespace:value`` is kept, so the tombstone itself holds no personal data.
    """

    digest = models.CharField(max_length=64, unique=True)
    erased_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.digest[:12]


class Source(models.Model):
    """A channel that sends data: a file feed, a Segment/RudderStack pipeline, a POS, a call center."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.SlugField(max_length=100, unique=True)
    kind = models.CharField(max_length=20, choices=Channel.choices, default=Channel.WEB)
    write_key_hash = models.CharField(max_length=128, blank=True, editable=False)
    write_key_prefix = models.CharField(max_length=12, blank=True, editable=False)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_event_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Touchpoint(models.Model):
    """One thing that happened between the customer and the brand, in any channel.

    This is the big table. Its indexes are kept to the two that pay for themselves: the
    (source, external_id) key that makes re-imports idempotent, and (customer, occurred_at) for the
    timeline and the summary refresh. Foreign keys carry no database constraint: the importer resolves
    ids itself, and constraint checks were ~44% of the insert cost in a prototype.
    """

    # No single-column indexes on the foreign keys: the (source, external_id) key and the timeline index
    # lead with them and serve the same lookups; each extra index was paid on every imported touchpoint.
    source = models.ForeignKey(
        Source, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )
    external_id = models.CharField(max_length=200)
    customer = models.ForeignKey(
        Customer, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="touchpoints"
    )
    occurred_at = models.DateTimeField()
    channel = models.CharField(max_length=20, choices=Channel.choices)
    moment = models.CharField(max_length=30, choices=Moment.choices)
    event = models.CharField(max_length=100, blank=True, help_text=_("The event name as the source sent it."))
    store_code = models.CharField(max_length=20, blank=True)
    associate_code = models.CharField(max_length=100, blank=True)
    order_id = models.CharField(max_length=100, blank=True)
    product_sku = models.CharField(max_length=100, blank=True)
    product_name = models.CharField(max_length=200, blank=True)
    category = models.CharField(max_length=100, blank=True)
    brand = models.CharField(max_length=100, blank=True)
    size = models.CharField(max_length=30, blank=True)
    color = models.CharField(max_length=50, blank=True)
    quantity = models.IntegerField(null=True, blank=True)
    price = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    revenue = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    properties = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["source", "external_id"], name="touchpoint_source_event")]
        indexes = [models.Index(fields=["customer", "-occurred_at"], name="touchpoint_timeline")]

    def __str__(self) -> str:
        return f"{self.moment} @ {self.occurred_at:%Y-%m-%d}"


class Note(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    store_code = models.CharField(max_length=20, blank=True)
    text = models.TextField(max_length=2000)
    pinned = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-pinned", "-created_at"]

    def __str__(self) -> str:
        return self.text[:50]


class CustomerSummary(models.Model):
    """Everything the greeting card and profile header need, precomputed per customer.

    Refreshed incrementally for the customers an import batch (or a live event) touched.
    """

    # Derived rows carry no foreign-key constraint (nor do interests): the refresh writes them for customers it
    # has just read, and the check at commit cost ~3.5 s per 1M interest rows of an import (see Interest).
    # Customers are never deleted but through the ORM, which still cascades to them.
    customer = models.OneToOneField(
        Customer, on_delete=models.CASCADE, primary_key=True, related_name="summary", db_constraint=False
    )
    first_seen_at = models.DateTimeField(null=True, blank=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    last_visit_at = models.DateTimeField(null=True, blank=True)
    last_visit_store = models.CharField(max_length=20, blank=True)
    last_purchase_at = models.DateTimeField(null=True, blank=True)
    # {"store": code, "channel": .., "items": [{"name", "sku", "size", "color"}], "associate": code, "revenue": "12.00"}
    last_purchase = models.JSONField(default=dict, blank=True)
    visit_count = models.PositiveIntegerField(default=0)
    order_count = models.PositiveIntegerField(default=0)
    lifetime_value = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    currency = models.CharField(max_length=3, blank=True)
    preferred_store = models.CharField(max_length=20, blank=True)
    channels = models.JSONField(default=list, blank=True)
    open_cart = models.JSONField(default=list, blank=True)  # [{"name", "sku", "size", "at"}]
    wishlist = models.JSONField(default=list, blank=True)
    sizes = models.JSONField(default=dict, blank=True)  # {"shoes": "9", "tops": "M"}
    last_feedback_score = models.SmallIntegerField(null=True, blank=True)
    last_feedback_at = models.DateTimeField(null=True, blank=True)
    open_complaint = models.JSONField(default=dict, blank=True)  # {"at", "channel", "text"} when one is open
    # Written by the nightly persona job (insights app); the refresh above leaves them alone.
    persona = models.CharField(max_length=50, blank=True, db_default="")
    persona_name = models.CharField(max_length=100, blank=True, db_default="")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"summary of {self.customer_id}"


class InterestKind(models.TextChoices):
    CATEGORY = "category", _("Category")
    BRAND = "brand", _("Brand")
    PRODUCT = "product", _("Product")


class Interest(models.Model):
    """What she cares about, with a score (moment weight x time decay) and a reason a person can read."""

    # An interest is what it is about: (customer, kind, key) is the key and its index the only one. Every read
    # is one customer's interests (at most INTERESTS_PER_KIND per kind), so a surrogate id and an index on
    # (customer, score) only cost the refresh: writing 1M interests took 3.9-4.4 s with both, 2.5 s without.
    pk = models.CompositePrimaryKey("customer_id", "kind", "key")
    # No foreign-key constraint: derived data, rewritten by every refresh; checking it at commit cost ~3.5 s
    # per 1M rows (a 1M-row import writes ~1M interests). Deleting a customer through the ORM still cascades.
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="interests", db_index=False, db_constraint=False
    )
    kind = models.CharField(max_length=20, choices=InterestKind.choices)
    key = models.CharField(max_length=200)
    label = models.CharField(max_length=200)
    score = models.FloatField()
    reason = models.CharField(max_length=300)
    last_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.kind}:{self.label}"


class ImportStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")
    SKIPPED = "skipped", _("Skipped (same file already imported)")


class ImportStage(models.TextChoices):
    """What a running job is doing: a big file spends as long matching people and updating profiles as it
    does writing its rows, and the progress bar says so instead of sitting at 0 % or 100 %."""

    READING = "reading", _("Reading rows")
    MATCHING = "matching", _("Matching people")
    WRITING = "writing", _("Writing rows")
    PROFILES = "profiles", _("Updating profiles")


class ImportJob(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    source = models.ForeignKey(Source, on_delete=models.PROTECT, related_name="imports")
    filename = models.CharField(max_length=255)
    path = models.CharField(max_length=1000, blank=True)
    checksum = models.CharField(max_length=64, blank=True)
    format = models.CharField(max_length=10, default="auto")
    status = models.CharField(max_length=20, choices=ImportStatus.choices, default=ImportStatus.QUEUED)
    origin = models.CharField(max_length=20, default="cli")  # cli, upload, inbox
    size_bytes = models.BigIntegerField(default=0)
    bytes_done = models.BigIntegerField(default=0)
    stage = models.CharField(max_length=20, choices=ImportStage.choices, blank=True)
    bytes_read = models.BigIntegerField(default=0, help_text=_("Bytes read and checked (ahead of those committed)."))
    rows = models.PositiveIntegerField(default=0)
    imported = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    duplicates = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    lines_done = models.PositiveIntegerField(
        default=0, help_text=_("Input lines committed: resume point after a crash.")
    )
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # The same file imported twice into one source is a no-op.
            models.UniqueConstraint(
                fields=["source", "checksum"], condition=Q(status="done"), name="import_once_per_checksum"
            )
        ]

    def __str__(self) -> str:
        return f"{self.filename} ({self.status})"

    @property
    def progress_bytes(self) -> int | None:
        """Where the progress bar stands in the file, or None while the current stage has no measure of it."""
        if self.stage == ImportStage.READING:
            return self.bytes_read
        if self.stage in (ImportStage.MATCHING, ImportStage.PROFILES):
            return None
        if self.stage == ImportStage.WRITING and not self.bytes_done:
            # The first batches are written while the new customers are, and commit with them: until then
            # there is nothing committed to measure (rather than a bar stuck at 0 %).
            return None
        return self.bytes_done

    @property
    def progress_percent(self) -> int | None:
        done = self.progress_bytes
        if done is None or not self.size_bytes:
            return None
        return min(100, done * 100 // self.size_bytes)

    def summary_line(self) -> str:
        return f"rows={self.rows} imported={self.imported} updated={self.updated} duplicates={self.duplicates} rejected={self.rejected}"


class RejectedRow(models.Model):
    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="rejected_rows")
    line = models.PositiveIntegerField()
    reason = models.CharField(max_length=300)
    raw = models.TextField()

    class Meta:
        ordering = ["line"]
        constraints = [models.UniqueConstraint(fields=["job", "line"], name="rejected_row_once")]

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


class Merge(models.Model):
    """One customer absorbed into another, with why and what moved, so an admin can undo it."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    survivor = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="merges")
    absorbed = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    identifier_kind = models.CharField(max_length=20)
    identifier_value = models.CharField(max_length=320)
    reason = models.CharField(max_length=300)
    source = models.ForeignKey(Source, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    source_ref = models.CharField(max_length=300, blank=True, help_text=_("File and line, or message id."))
    moved = models.JSONField(default=dict, help_text=_("Ids of the identifiers, touchpoints and notes that moved."))
    created_at = models.DateTimeField(auto_now_add=True)
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.absorbed_id} -> {self.survivor_id} by {self.identifier_kind}"


class ReviewKind(models.TextChoices):
    SHARED_VALUE = "shared_value", _("Shared identifier over the limit")
    FUZZY = "fuzzy", _("Possible duplicate")


class MatchReview(models.Model):
    """A pair of customers a person should look at: never merged automatically."""

    kind = models.CharField(max_length=20, choices=ReviewKind.choices)
    customer_a = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    customer_b = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    reason = models.CharField(max_length=300)
    score = models.FloatField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution = models.CharField(max_length=20, blank=True)  # merged, dismissed

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kind", "customer_a", "customer_b"], name="review_pair_once")]

    def __str__(self) -> str:
        return f"{self.kind}: {self.customer_a_id} ~ {self.customer_b_id}"


class PiiAccess(models.Model):
    """Audit trail: who looked at which customer's personal data, where and when."""

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    action = models.CharField(max_length=50)  # profile_view, card_view, export, search_result ...
    store_code = models.CharField(max_length=20, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.action} of {self.customer_id} by {self.user_id}"
