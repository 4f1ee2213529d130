"""Writes of pulse feedback: scheduling invitations, sending them exactly once, answers, follow-ups.

Flow: ``invitations_schedule`` (beat) turns new qualifying touchpoints into invitations, set-based;
``invitations_send_due`` (beat) claims due invitations in batches and sends them; the customer's POST
calls ``response_record`` (a pending answer, applied by ``answers_apply``) then maybe ``response_comment``;
a detractor's answer opens a ``FollowUp`` that managers work with ``follow_up_contact`` / ``follow_up_note`` / ``follow_up_resolve``.
"""

from __future__ import annotations

import logging
import smtplib
import uuid
import weakref
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import psycopg
from django.conf import settings
from django.core.mail import mailers
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone, translation

from feedback import wording
from feedback.analysis import analyze
from feedback.delivery import DeliveryUncertain, EmailTransport, Outgoing
from feedback.emails import MailMerge, brand_for, invitation_email, link_urls
from feedback.models import (
    FollowUp,
    FollowUpEntry,
    FollowUpStatus,
    Invitation,
    InvitationChannel,
    InvitationStatus,
    Response,
    ScanState,
    Suppression,
)
from feedback.sms import PermanentSendError, TransientSendError, sms_backend
from profiles.models import Channel, Customer, Identifier, IdentifierKind, Moment
from profiles.services import customer_set_consent, touchpoint_record
from profiles.stores import store_info

log = logging.getLogger("feedback")

SCAN_NAME = "invitations"
# Answers faster than this after delivery are flagged as possibly automated.
FAST_ANSWER_SECONDS = 5
RETRY_BASE_SECONDS = 60
RETRY_MAX_SECONDS = 3600


# --- Quiet hours --------------------------------------------------------------------------------


def next_allowed_time(when: datetime, tz_name: str) -> datetime:
    """``when``, or the end of the quiet hours in the store's time zone if it falls inside them."""
    quiet = settings.FEEDBACK_QUIET_HOURS
    if not quiet:
        return when
    start, end = quiet
    tz = ZoneInfo(tz_name or "UTC")
    local = when.astimezone(tz)
    hour = local.hour
    inside = (hour >= start or hour < end) if start > end else (start <= hour < end)
    if not inside:
        return when
    day = local.date() + timedelta(days=1) if (start > end and hour >= start) else local.date()
    return datetime(day.year, day.month, day.day, end, tzinfo=tz).astimezone(ZoneInfo("UTC"))


def _quiet_hours_sql(base: str, tz: str) -> str:
    """The same rule as ``next_allowed_time``, as a SQL expression over ``base`` (timestamptz) and ``tz``."""
    quiet = settings.FEEDBACK_QUIET_HOURS
    if not quiet:
        return base
    start, end = (int(h) for h in quiet)
    local = f"({base} AT TIME ZONE {tz})"
    hour = f"extract(hour FROM {local})"
    inside = f"({hour} >= {start} OR {hour} < {end})" if start > end else f"({hour} >= {start} AND {hour} < {end})"
    next_day = f"({hour} >= {start})" if start > end else "false"
    target = (
        f"((date_trunc('day', {local}) + CASE WHEN {next_day} THEN interval '1 day' ELSE interval '0' END"
        f" + interval '{end} hours') AT TIME ZONE {tz})"
    )
    return f"(CASE WHEN {inside} THEN {target} ELSE {base} END)"


# --- Scheduling ---------------------------------------------------------------------------------

_SCHEDULE_SQL = """
INSERT INTO feedback_invitation (
  public_id, survey_id, touchpoint_id, customer_id, channel, store_code, moment, touchpoint_channel,
  associate_code, occurred_at, language, status, reason, send_after, expires_at, token_key, short_code,
  attempts, last_error, created_at)
SELECT DISTINCT ON (q.customer_id)
  gen_random_uuid(), q.survey_id, q.touchpoint_id, q.customer_id, q.channel, q.store_code, q.moment,
  q.touchpoint_channel, q.associate_code, q.occurred_at,
  CASE WHEN q.country = ANY(%(french)s) THEN 'fr' ELSE 'en' END,
  'scheduled', '', {send_after}, q.occurred_at + %(max_age)s,
  replace(gen_random_uuid()::text, '-', ''), left(replace(gen_random_uuid()::text, '-', ''), 12)
    || substr(replace(gen_random_uuid()::text, '-', ''), 20, 4),
  0, '', %(now)s
FROM (
  SELECT t.id AS touchpoint_id, t.customer_id, t.moment, t.channel AS touchpoint_channel, t.store_code,
         t.associate_code, t.occurred_at, s.id AS survey_id,
         greatest(t.occurred_at + make_interval(mins => s.delay_minutes), %(now)s) AS base,
         coalesce(st.timezone, 'UTC') AS tz, coalesce(st.country, '') AS country,
         (SELECT u.ch FROM unnest(s.channels) WITH ORDINALITY AS u(ch, n)
           WHERE EXISTS (SELECT 1 FROM profiles_identifier i WHERE i.customer_id = t.customer_id
                          AND i.kind = CASE u.ch WHEN 'email' THEN 'email' ELSE 'phone' END)
           ORDER BY u.n LIMIT 1) AS channel
  FROM profiles_touchpoint t
  JOIN feedback_survey s ON s.is_active AND t.moment = ANY(s.moments)
  JOIN profiles_customer c ON c.id = t.customer_id
  LEFT JOIN clienteling_store st ON st.code = t.store_code
  WHERE t.id > %(after)s AND t.id <= %(upto)s
    AND t.occurred_at > %(now)s - %(max_age)s
    AND c.consent_surveys AND c.merged_into_id IS NULL AND c.erased_at IS NULL
    AND NOT EXISTS (SELECT 1 FROM feedback_suppression x WHERE x.customer_id = t.customer_id)
    AND NOT EXISTS (SELECT 1 FROM feedback_invitation p WHERE p.customer_id = t.customer_id
                     AND p.status IN ('scheduled', 'sending', 'sent', 'answered')
                     AND p.send_after > %(now)s - %(cap)s)
) q
WHERE q.channel IS NOT NULL
ORDER BY q.customer_id, q.occurred_at DESC, q.survey_id
ON CONFLICT DO NOTHING
"""


@dataclass
class ScheduleResult:
    created: int = 0
    scanned_to: int = 0


def invitations_schedule(*, max_chunks: int = 20) -> ScheduleResult:
    """Create invitations for qualifying touchpoints past the watermark; imported and live alike.

    One ``INSERT ... SELECT ... ON CONFLICT DO NOTHING`` per chunk of touchpoint ids: at most one
    invitation per customer per chunk (her latest qualifying touchpoint), none within the frequency cap,
    none without survey consent or after an unsubscribe, none for touchpoints already too old.
    Re-reading a chunk is harmless (the unique pair and the cap), which is what makes the watermark's
    wait for slow transactions (``ScanState``) cheap.
    """
    result = ScheduleResult()
    ScanState.objects.get_or_create(name=SCAN_NAME)
    for _ in range(max_chunks):
        created, promoted, more = _schedule_chunk(result)
        result.created += created
        if not (promoted and more):
            break
    return result


@transaction.atomic
def _schedule_chunk(result: ScheduleResult) -> tuple[int, bool, bool]:
    state = ScanState.objects.select_for_update().get(name=SCAN_NAME)  # one scanner at a time
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint")
        (oldest_running,) = cursor.fetchone()
        promoted = state.pending_id <= state.last_id or oldest_running >= state.pending_xmax
        if promoted:
            state.last_id = max(state.last_id, state.pending_id)
        # The next chunk by rows, not by id range: ids can jump (rolled-back imports, a restored table).
        cursor.execute(
            "SELECT max(id) FROM (SELECT id FROM profiles_touchpoint WHERE id > %s ORDER BY id LIMIT %s) chunk",
            [state.last_id, settings.FEEDBACK_SCAN_CHUNK],
        )
        (seen_max,) = cursor.fetchone()
        created = 0
        if seen_max is not None:
            sql = _SCHEDULE_SQL.format(send_after=_quiet_hours_sql("q.base", "q.tz"))
            cursor.execute(
                sql,
                {
                    "after": state.last_id,
                    "upto": seen_max,
                    "max_age": timedelta(hours=settings.FEEDBACK_MAX_AGE_HOURS),
                    "cap": timedelta(days=settings.FEEDBACK_FREQUENCY_CAP_DAYS),
                    "french": sorted(wording.FRENCH_COUNTRIES),
                    "now": timezone.now(),
                },
            )
            created = cursor.rowcount
            # Rows with lower ids may still be in flight in transactions running now: wait for them
            # all to finish (xmax of a snapshot taken after the scan) before moving last_id past them.
            cursor.execute("SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint")
            (state.pending_xmax,) = cursor.fetchone()
            state.pending_id = seen_max
        state.save(update_fields=["last_id", "pending_id", "pending_xmax", "updated_at"])
    result.scanned_to = state.pending_id
    return created, promoted, seen_max is not None


# --- Sending ------------------------------------------------------------------------------------

_CLAIM_SQL = """
UPDATE feedback_invitation SET status = 'sending', claim_token = %(claim)s,
       claimed_until = %(now)s + %(lease)s, attempts = attempts + 1
WHERE id IN (
  SELECT id FROM feedback_invitation
  WHERE (status = 'scheduled' AND send_after <= %(now)s) OR (status = 'sending' AND claimed_until < %(now)s)
  ORDER BY send_after
  LIMIT %(batch)s
  FOR UPDATE SKIP LOCKED)
RETURNING id
"""


@dataclass
class SendResult:
    sent: int = 0
    expired: int = 0
    suppressed: int = 0
    deferred: int = 0
    failed: int = 0
    retrying: int = 0
    lost_claims: int = 0
    errors: list[str] = field(default_factory=list)

    def add(self, other: SendResult) -> None:
        for name in ("sent", "expired", "suppressed", "deferred", "failed", "retrying", "lost_claims"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.errors += other.errors


def invitations_send_due(*, max_batches: int | None = None, batch_size: int | None = None) -> SendResult:
    """Claim due invitations batch by batch (``FOR UPDATE SKIP LOCKED``) and send each exactly once.

    Two beats, two workers, a retried task: each batch is claimed by one caller only, and a claim that
    outlives its worker (killed mid-batch) is taken over after ``FEEDBACK_SEND_LEASE_SECONDS``.
    """
    total = SendResult()
    batches = 0
    while max_batches is None or batches < max_batches:
        claim = uuid.uuid4()
        ids = invitations_claim(claim=claim, batch_size=batch_size or settings.FEEDBACK_SEND_BATCH)
        if not ids:
            break
        batches += 1
        total.add(invitations_send_claimed(ids=ids, claim=claim))
    return total


def invitations_claim(*, claim: uuid.UUID, batch_size: int) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(
            _CLAIM_SQL,
            {
                "claim": claim,
                "lease": timedelta(seconds=settings.FEEDBACK_SEND_LEASE_SECONDS),
                "batch": batch_size,
                "now": timezone.now(),
            },
        )
        return [row[0] for row in cursor.fetchall()]


def _release(ids: list[int], claim: uuid.UUID, **changes) -> int:
    if not ids:
        return 0
    return Invitation.objects.filter(pk__in=ids, claim_token=claim, status=InvitationStatus.SENDING).update(
        claim_token=None, claimed_until=None, **changes
    )


def _retry_delay(attempts: int) -> timedelta:
    return timedelta(seconds=min(RETRY_BASE_SECONDS * 2 ** max(attempts - 1, 0), RETRY_MAX_SECONDS))


def invitations_send_claimed(*, ids: list[int], claim: uuid.UUID) -> SendResult:
    """Send the invitations this caller claimed; each is settled on its own (sent, retry, failed...)."""
    result = SendResult()
    now = timezone.now()
    invitations = list(
        Invitation.objects.filter(pk__in=ids, claim_token=claim)
        .select_related("survey", "customer")
        .order_by("send_after", "pk")
    )
    customer_ids = {inv.customer_id for inv in invitations}
    suppressed = set(Suppression.objects.filter(customer_id__in=customer_ids).values_list("customer_id", flat=True))
    recently_asked = set(
        Invitation.objects.filter(
            customer_id__in=customer_ids,
            status__in=[InvitationStatus.SENT, InvitationStatus.ANSWERED],
            sent_at__gt=now - timedelta(days=settings.FEEDBACK_FREQUENCY_CAP_DAYS),
        ).values_list("customer_id", flat=True)
    )
    addresses: dict[tuple[int, str], str] = {}
    for customer_id, kind, value in (
        Identifier.objects.filter(customer_id__in=customer_ids, kind__in=[IdentifierKind.EMAIL, IdentifierKind.PHONE])
        .order_by("customer_id", "kind", "-created_at")
        .values_list("customer_id", "kind", "value")
    ):
        addresses.setdefault((customer_id, kind), value)

    stores = {code: store_info(code) for code in {inv.store_code for inv in invitations}}
    expired, not_allowed, deferred, to_send = [], [], [], []
    for invitation in invitations:
        customer = invitation.customer
        kind = IdentifierKind.EMAIL if invitation.channel == InvitationChannel.EMAIL else IdentifierKind.PHONE
        address = addresses.get((customer.pk, kind))
        invitation.store = stores[invitation.store_code]  # one lookup per store per batch
        tz = invitation.store.timezone
        if invitation.expires_at <= now:
            expired.append(invitation.pk)
        elif (
            not customer.consent_surveys
            or customer.merged_into_id
            or customer.erased_at
            or customer.pk in suppressed
            or customer.pk in recently_asked
            or not address
        ):
            not_allowed.append((invitation.pk, _why_not(customer, suppressed, recently_asked, address)))
        elif (later := next_allowed_time(now, tz)) != now:
            deferred.append((invitation.pk, later))
        else:
            to_send.append((invitation, address))
            recently_asked.add(customer.pk)  # two invitations of hers in one batch: only the first goes

    result.expired = _release(expired, claim, status=InvitationStatus.EXPIRED, reason="too old to ask")
    for pk, reason in not_allowed:
        result.suppressed += _release([pk], claim, status=InvitationStatus.SUPPRESSED, reason=reason)
    for pk, later in deferred:
        result.deferred += _release([pk], claim, status=InvitationStatus.SCHEDULED, send_after=later, attempts=0)

    emails = [(inv, address) for inv, address in to_send if inv.channel == InvitationChannel.EMAIL]
    texts = [(inv, address) for inv, address in to_send if inv.channel == InvitationChannel.SMS]
    if emails:
        _send_emails(emails, claim, result)
    if texts:
        _send_texts(texts, claim, result)
    if result.errors:
        log.warning("invitation send errors", extra={"errors": result.errors[:10], "count": len(result.errors)})
    return result


def _why_not(customer: Customer, suppressed: set, recently_asked: set, address: str | None) -> str:
    if customer.pk in suppressed:
        return "unsubscribed"
    if customer.merged_into_id or customer.erased_at:
        return "customer merged or erased"
    if not customer.consent_surveys:
        return "no survey consent"
    if customer.pk in recently_asked:
        return "frequency cap"
    return "no address for the channel"


def _mark_sent(invitation: Invitation, claim: uuid.UUID) -> bool:
    """The commit point: sent, if and only if this caller still holds the claim (autocommit, one UPDATE)."""
    return (
        Invitation.objects.filter(pk=invitation.pk, claim_token=claim, status=InvitationStatus.SENDING).update(
            status=InvitationStatus.SENT, sent_at=timezone.now(), claim_token=None, claimed_until=None
        )
        == 1
    )


def _settle_failure(invitation: Invitation, claim: uuid.UUID, error: Exception, *, committed: bool) -> str:
    """A send that did not go through: retry later with backoff (transient) or record it (permanent)."""
    transient = isinstance(error, TransientSendError) and invitation.attempts < settings.FEEDBACK_MAX_ATTEMPTS
    changes = {"last_error": str(error)[:500], "claim_token": None, "claimed_until": None}
    if transient:
        changes.update(status=InvitationStatus.SCHEDULED, send_after=timezone.now() + _retry_delay(invitation.attempts))
    else:
        changes.update(status=InvitationStatus.FAILED, reason="permanent error" if not transient else "")
    rows = Invitation.objects.filter(pk=invitation.pk)
    # Before the commit point the row is still ours (claimed); after it, it says sent and we correct it.
    rows = rows.filter(status=InvitationStatus.SENT) if committed else rows.filter(claim_token=claim)
    rows.update(**changes)
    return "retrying" if transient else "failed"


def invitation_sms_text(invitation: Invitation) -> str:
    language = invitation.language
    brand = brand_for(invitation, language)
    with translation.override(language):
        from django.utils.translation import gettext as _

        return _("%(brand)s: one quick question about your visit? %(link)s (STOP to opt out)") % {
            "brand": brand,
            "link": link_urls(invitation)["short"],
        }


def _mark_sent_many(ids: list[int], claim: uuid.UUID) -> set[int]:
    """The commit point for a group: one UPDATE, one commit, only rows this caller still holds."""
    if not ids:
        return set()
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE feedback_invitation SET status = 'sent', sent_at = %s, claim_token = NULL, claimed_until = NULL "
            "WHERE id = ANY(%s) AND claim_token = %s AND status = 'sending' RETURNING id",
            [timezone.now(), ids, claim],
        )
        return {row[0] for row in cursor.fetchall()}


def _count(result: SendResult, outcome: str) -> None:
    setattr(result, outcome, getattr(result, outcome) + 1)


def _send_emails(items: list[tuple[Invitation, str]], claim: uuid.UUID, result: SendResult) -> None:
    backends = [mailers["default"] for _ in range(settings.FEEDBACK_SMTP_CONNECTIONS)]
    transport = EmailTransport(backends)
    try:
        transport.__enter__()
    except (OSError, smtplib.SMTPException) as error:
        # The mail server is down: put the whole batch back for later, nothing was sent.
        for invitation, _ in items:
            _count(result, _settle_failure(invitation, claim, TransientSendError(str(error)), committed=False))
        result.errors.append(f"mail server unreachable: {error}")
        return
    merge = MailMerge()
    by_id = {invitation.pk: invitation for invitation, _ in items}
    try:
        size = transport.group_size
        for start in range(0, len(items), size):
            group = []
            sender = backends[0].prep_address(settings.DEFAULT_FROM_EMAIL) if transport.smtp else ""
            for invitation, address in items[start : start + size]:
                try:
                    if transport.smtp:
                        backend = backends[0]
                        group.append(
                            Outgoing(
                                key=invitation.pk,
                                sender=sender,
                                recipients=[backend.prep_address(address)],
                                data=merge.data(invitation, address=address),
                            )
                        )
                    else:
                        message = invitation_email(invitation, address=address)
                        group.append(Outgoing(key=invitation.pk, sender="", recipients=[address], message=message))
                except ValueError as error:  # an address Django refuses to put in a header
                    _count(result, _settle_failure(invitation, claim, PermanentSendError(str(error)), committed=False))
                    result.errors.append(f"invalid address: {error}")
            outcomes = transport.send_group(group, lambda ids: _mark_sent_many(ids, claim))
            for key, outcome in outcomes.items():
                invitation = by_id[key]
                if outcome.sent:
                    result.sent += 1
                elif outcome.lost_claim:
                    result.lost_claims += 1
                elif isinstance(outcome.error, DeliveryUncertain):
                    result.sent += 1  # counted as sent: resending could deliver twice
                    Invitation.objects.filter(pk=key).update(last_error=str(outcome.error)[:500])
                    result.errors.append(str(outcome.error))
                elif outcome.error is not None:
                    _count(result, _settle_failure(invitation, claim, outcome.error, committed=outcome.committed))
                    result.errors.append(str(outcome.error))
    finally:
        transport.__exit__(None, None, None)


def _send_texts(items: list[tuple[Invitation, str]], claim: uuid.UUID, result: SendResult) -> None:
    backend = sms_backend()
    for invitation, phone in items:
        if not _mark_sent(invitation, claim):
            result.lost_claims += 1
            continue
        try:
            backend.send(to=phone, text=invitation_sms_text(invitation), reference=str(invitation.public_id))
            result.sent += 1
        except (TransientSendError, PermanentSendError) as error:
            outcome = _settle_failure(invitation, claim, error, committed=True)
            setattr(result, outcome, getattr(result, outcome) + 1)
            result.errors.append(str(error))


# --- The customer's side ------------------------------------------------------------------------


def invitation_for_key(key: str) -> Invitation | None:
    return (
        Invitation.objects.select_related("survey", "customer")
        .filter(token_key=key)
        .exclude(status__in=[InvitationStatus.SUPPRESSED, InvitationStatus.EXPIRED, InvitationStatus.FAILED])
        .first()
    )


_TAP_STATEMENT = b"feedback_answer_tap"
_TAP_SQL = b"SELECT feedback_answer_tap($1::text, $2::bigint, $3::integer, $4::timestamptz, $5::boolean)"
_tap_prepared: weakref.WeakSet = weakref.WeakSet()  # the connections that have the statement
_APPLY_SQL = "SELECT * FROM feedback_apply_answers(%s::bigint, %s::integer, %s::interval, %s::interval, %s::boolean)"
APPLY_BATCH = 2000


def _libpq_result(result, expected=psycopg.pq.ExecStatus.TUPLES_OK):
    if result.status != expected:
        raise psycopg.errors.error_from_result(result)
    return result


def response_record(*, survey_id: int, key: str, score: int) -> int | None:
    """Record her tapped score (her invitation's id), or None if the invitation cannot be answered.

    The POST only commits a narrow ``PendingAnswer`` (the ``feedback_answer_tap`` SQL function, migration
    0004): one index lookup, one insert, one round trip. ``answers_apply`` makes it her ``Response`` a few
    seconds later (the beat) or at once when she comments; the pages she sees show it from the start
    (``selectors.answer_of``). Once this returned, the answer is committed and is never lost.
    """
    connection.ensure_connection()
    # The hottest statement in the app goes straight to libpq as a server-side prepared statement (parsed
    # and planned once per connection): psycopg's cursor machinery cost ~0.08 ms of CPU per call on top,
    # a sixth of the whole request (docs/benchmarks.md). It bypasses Django's query log on purpose; errors
    # still reach Django as its own DatabaseError (so a broken connection is dropped as usual).
    params = [
        key.encode(),
        str(survey_id).encode(),
        str(score).encode(),
        timezone.now().isoformat().encode(),
        b"t" if settings.FEEDBACK_ANSWER_ASYNC_COMMIT else b"f",
    ]
    with connection.wrap_database_errors:
        try:
            value = _libpq_result(_tap_statement().exec_prepared(_TAP_STATEMENT, params)).get_value(0, 0)
        except psycopg.errors.InvalidSqlStatementName:  # the session was reset (DISCARD ALL): prepare again
            _tap_prepared.discard(connection.connection)
            value = _libpq_result(_tap_statement().exec_prepared(_TAP_STATEMENT, params)).get_value(0, 0)
    return int(value) if value is not None else None


def _tap_statement():
    """This thread's libpq connection, with the tap statement prepared on it."""
    if connection.connection not in _tap_prepared:
        _libpq_result(connection.connection.pgconn.prepare(_TAP_STATEMENT, _TAP_SQL), psycopg.pq.ExecStatus.COMMAND_OK)
        _tap_prepared.add(connection.connection)
    return connection.connection.pgconn


@dataclass(frozen=True)
class AppliedAnswers:
    applied: int = 0  # pending answers consumed
    responses: int = 0  # responses created or replaced
    follow_ups: int = 0  # follow-ups opened


def answers_apply(*, invitation_id: int | None = None, limit: int = APPLY_BATCH) -> AppliedAnswers:
    """Turn pending answers into responses, exactly once, set-based; one invitation's, or a batch of any.

    Per invitation the latest tap is her score (answering again replaces it; the first answer's time and
    the bot checks stay), the invitation becomes answered, her greeting card summary gets the score unless
    a newer one is there, and a detractor answer opens a follow-up for the store (once per response),
    assigned to the associate who served her when that person is known. The work is the
    ``feedback_apply_answers`` SQL function (migration 0004); the pending rows are deleted by the
    transaction that applies them, so two applies at once never apply one twice.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            _APPLY_SQL,
            [
                invitation_id,
                limit,
                timedelta(seconds=FAST_ANSWER_SECONDS),
                timedelta(hours=settings.FEEDBACK_FOLLOW_UP_DUE_HOURS),
                settings.FEEDBACK_ANSWER_ASYNC_COMMIT,
            ],
        )
        return AppliedAnswers(*cursor.fetchone())


def answers_apply_all(*, max_batches: int = 50) -> int:
    """What the beat runs: apply pending answers in batches until none are left; returns how many."""
    total = 0
    for _ in range(max_batches):
        applied = answers_apply().applied
        total += applied
        if applied < APPLY_BATCH:
            break
    return total


@transaction.atomic
def response_comment(*, response: Response, comment: str) -> Response:
    """Add (or replace) her comment, with its sentiment and themes computed on the spot."""
    comment = comment.strip()[:2000]
    analysis = analyze(comment, language=response.language)
    response.comment = comment
    response.sentiment = analysis.sentiment
    response.sentiment_score = analysis.score
    response.themes = analysis.themes
    response.commented_at = timezone.now()
    response.save(update_fields=["comment", "sentiment", "sentiment_score", "themes", "commented_at"])
    return response


def responses_to_timeline(*, limit: int = 500) -> int:
    """Answers onto their customers' timelines as ``feedback_given`` touchpoints, then refresh them.

    Kept off the answer's hot path: the beat does it within a minute. Idempotent per response.
    """
    responses = list(
        Response.objects.filter(on_timeline_at__isnull=True).select_related("customer").order_by("pk")[:limit]
    )
    for response in responses:
        touchpoint_record(
            customer=response.customer,
            moment=Moment.FEEDBACK_GIVEN,
            channel=Channel.EMAIL if response.invitation_channel == InvitationChannel.EMAIL else Channel.SMS,
            occurred_at=response.first_answered_at,
            store_code=response.store_code,
            associate_code=response.associate_code,
            external_id=f"feedback-response-{response.public_id}",
            properties={"score": response.score, "survey": response.kind},
        )
    if responses:  # touchpoint_record refreshes each customer's summary
        Response.objects.filter(pk__in=[r.pk for r in responses]).update(on_timeline_at=timezone.now())
    return len(responses)


def invitation_honeypot_hit(*, key: str) -> None:
    """A link no person can see was followed: a scanner or a bot. Later answers get flagged."""
    Invitation.objects.filter(token_key=key, honeypot_at__isnull=True).update(honeypot_at=timezone.now())


@transaction.atomic
def customer_unsubscribe(*, invitation: Invitation, via: str) -> bool:
    """Stop asking her, across every survey and channel. Idempotent; True when this call did it."""
    _, created = Suppression.objects.get_or_create(
        customer=invitation.customer, defaults={"via": via, "invitation": invitation, "reason": "unsubscribe"}
    )
    if invitation.customer.consent_surveys:
        customer_set_consent(customer=invitation.customer, purpose="surveys", granted=False, source=f"feedback-{via}")
    Invitation.objects.filter(
        customer=invitation.customer, status__in=[InvitationStatus.SCHEDULED, InvitationStatus.SENDING]
    ).filter(Q(claim_token__isnull=True) | Q(claimed_until__lt=timezone.now())).update(
        status=InvitationStatus.SUPPRESSED, reason="unsubscribed", claim_token=None
    )
    return created


# --- Closing the loop ---------------------------------------------------------------------------


def _entry(follow_up: FollowUp, *, kind: str, text: str, by) -> FollowUpEntry:
    return FollowUpEntry.objects.create(follow_up=follow_up, kind=kind, text=text.strip()[:2000], author=by)


@transaction.atomic
def follow_up_contact(*, follow_up: FollowUp, by, text: str = "") -> FollowUp:
    """She was contacted (call, message, in person)."""
    if follow_up.status == FollowUpStatus.RESOLVED:
        raise ValueError("This follow-up is already resolved.")
    follow_up.status = FollowUpStatus.CONTACTED
    follow_up.contacted_at = follow_up.contacted_at or timezone.now()
    follow_up.save(update_fields=["status", "contacted_at"])
    _entry(follow_up, kind="contacted", text=text, by=by)
    return follow_up


@transaction.atomic
def follow_up_note(*, follow_up: FollowUp, by, text: str) -> FollowUpEntry:
    if not text.strip():
        raise ValueError("Write a note first.")
    return _entry(follow_up, kind="note", text=text, by=by)


@transaction.atomic
def follow_up_resolve(*, follow_up: FollowUp, by, resolution: str) -> FollowUp:
    """Close the loop: the resolution is kept, logged, and written to her timeline as a touchpoint."""
    resolution = resolution.strip()
    if not resolution:
        raise ValueError("Say how it was resolved.")
    locked = FollowUp.objects.select_for_update().get(pk=follow_up.pk)
    if locked.status == FollowUpStatus.RESOLVED:
        return locked
    locked.status = FollowUpStatus.RESOLVED
    locked.resolution = resolution[:2000]
    locked.resolved_at = timezone.now()
    locked.resolved_by = by
    locked.save(update_fields=["status", "resolution", "resolved_at", "resolved_by"])
    _entry(locked, kind="resolved", text=resolution, by=by)
    touchpoint_record(
        customer=locked.customer,
        moment=Moment.SERVICE_CONTACT,
        channel=Channel.STORE,
        store_code=locked.store_code,
        associate_code=getattr(by, "username", "") or "",
        external_id=f"feedback-follow-up-{locked.public_id}",
        properties={"event": "feedback_follow_up_resolved", "resolution": resolution[:300], "resolved": True},
    )
    return locked
