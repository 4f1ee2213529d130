"""The answer POST writes a narrow pending answer; the rest of the write is applied set-based, later.

Two PostgreSQL functions: ``feedback_answer_tap`` (the POST: one index lookup and one narrow insert) and
``feedback_apply_answers`` (the beat and the comment POST: pending answers to responses, the invitation's
status, her summary's last score and follow-ups, exactly once). They write feedback and profiles tables
(the summary's last_feedback_* columns); a later change to those columns needs a migration that replaces
them. ``feedback_record_answer`` (0003), which did all of it on the POST, goes.
"""

import importlib

import django.db.models.deletion
from django.db import migrations, models

TAP_FUNCTION = """
CREATE OR REPLACE FUNCTION feedback_answer_tap(
  p_key text, p_survey bigint, p_score integer, p_now timestamptz, p_async boolean)
RETURNS bigint
LANGUAGE plpgsql AS $fn$
DECLARE
  v_invitation bigint;
BEGIN
  -- A survey answer may be committed without waiting for the WAL flush (FEEDBACK_ANSWER_ASYNC_COMMIT):
  -- a PostgreSQL crash can then lose the last fraction of a second of answers, nothing else.
  IF p_async THEN
    PERFORM set_config('synchronous_commit', 'off', true);
  END IF;
  INSERT INTO feedback_pendinganswer (invitation_id, score, answered_at)
  SELECT id, p_score, p_now FROM feedback_invitation
  WHERE token_key = p_key AND survey_id = p_survey AND status IN ('sent', 'answered')
  RETURNING invitation_id INTO v_invitation;
  RETURN v_invitation;
END
$fn$;
"""

APPLY_FUNCTION = """
CREATE OR REPLACE FUNCTION feedback_apply_answers(
  p_invitation bigint, p_limit integer, p_fast interval, p_due interval, p_async boolean)
RETURNS TABLE (applied integer, responses integer, follow_ups integer)
LANGUAGE plpgsql AS $fn$
#variable_conflict use_column
DECLARE
  v_ids bigint[]; v_inv bigint[]; v_score smallint[]; v_at timestamptz[];
BEGIN
  IF p_async THEN
    PERFORM set_config('synchronous_commit', 'off', true);
  END IF;
  -- Claim by deleting, in the transaction that applies: each pending answer is applied exactly once. The
  -- beat skips what another apply holds; one invitation's apply waits for it, so it then reads it applied.
  IF p_invitation IS NULL THEN
    WITH claimed AS (
      DELETE FROM feedback_pendinganswer WHERE id IN (
        SELECT id FROM feedback_pendinganswer ORDER BY id LIMIT p_limit FOR UPDATE SKIP LOCKED)
      RETURNING id, invitation_id, score, answered_at)
    SELECT array_agg(id), array_agg(invitation_id), array_agg(score), array_agg(answered_at)
    INTO v_ids, v_inv, v_score, v_at FROM claimed;
  ELSE
    WITH claimed AS (
      DELETE FROM feedback_pendinganswer WHERE invitation_id = p_invitation
      RETURNING id, invitation_id, score, answered_at)
    SELECT array_agg(id), array_agg(invitation_id), array_agg(score), array_agg(answered_at)
    INTO v_ids, v_inv, v_score, v_at FROM claimed;
  END IF;
  IF v_ids IS NULL THEN
    RETURN QUERY SELECT 0, 0, 0;
    RETURN;
  END IF;
  -- Two applies touching the same invitation or the same customer lock rows in one order (invitations,
  -- then summaries, each by id) before writing, so they queue instead of deadlocking.
  PERFORM 1 FROM feedback_invitation WHERE id = ANY(v_inv) ORDER BY id FOR UPDATE;
  PERFORM 1 FROM profiles_customersummary
  WHERE customer_id IN (SELECT customer_id FROM feedback_invitation WHERE id = ANY(v_inv))
  ORDER BY customer_id FOR UPDATE;
  RETURN QUERY
  WITH taps AS (
    SELECT * FROM unnest(v_ids, v_inv, v_score, v_at) AS t(id, invitation_id, score, answered_at)
  ), answers AS (
    -- Per invitation: her latest tap is what she meant; the first one dates the answer and the bot checks;
    -- any detractor tap opens a follow-up, as it did when every tap was applied on its own.
    SELECT i.id, i.survey_id, s.kind, i.customer_id, i.store_code, i.moment, i.touchpoint_channel, i.channel,
           i.associate_code, i.language, i.sent_at, i.honeypot_at, i.status,
           (array_agg(t.score ORDER BY t.answered_at DESC, t.id DESC))[1] AS score,
           max(t.answered_at) AS answered_at, min(t.answered_at) AS first_at,
           bool_or(t.score <= CASE s.kind WHEN 'nps' THEN 6 WHEN 'csat' THEN 2 WHEN 'ces' THEN 2 ELSE 0 END)
             AS detractor
    FROM taps t JOIN feedback_invitation i ON i.id = t.invitation_id JOIN feedback_survey s ON s.id = i.survey_id
    GROUP BY i.id, s.id
  ), answered AS (
    UPDATE feedback_invitation SET status = 'answered' WHERE id IN (SELECT id FROM answers WHERE status = 'sent')
  ), resp AS (
    INSERT INTO feedback_response AS r (
      public_id, invitation_id, survey_id, kind, score, comment, sentiment, sentiment_score, themes, customer_id,
      store_code, moment, channel, invitation_channel, associate_code, language, answered_at, first_answered_at,
      seconds_after_delivery, bot_suspected, bot_reasons)
    SELECT gen_random_uuid(), a.id, a.survey_id, a.kind, a.score, '', '', NULL, '{}', a.customer_id,
           a.store_code, a.moment, a.touchpoint_channel, a.channel, a.associate_code, a.language,
           a.answered_at, a.first_at, extract(epoch FROM a.first_at - a.sent_at)::int,
           b.reasons <> '{}', b.reasons
    FROM answers a, LATERAL (SELECT array_remove(ARRAY[
        CASE WHEN a.first_at - a.sent_at < p_fast THEN 'fast_answer' END,
        CASE WHEN a.honeypot_at <= a.first_at THEN 'honeypot_link' END], NULL)::varchar[] AS reasons) b
    -- Answering again replaces the score; the first answer's time and bot flags stay. An older tap applied
    -- after a newer one (two applies at once) changes nothing.
    ON CONFLICT (invitation_id) DO UPDATE
      SET score = EXCLUDED.score, answered_at = EXCLUDED.answered_at, on_timeline_at = NULL
      WHERE r.answered_at <= EXCLUDED.answered_at
    RETURNING r.id, r.invitation_id, r.customer_id, r.store_code, r.associate_code
  ), summary AS (
    UPDATE profiles_customersummary cs SET last_feedback_score = l.score, last_feedback_at = l.answered_at
    FROM (SELECT DISTINCT ON (customer_id) customer_id, score, answered_at FROM answers
          ORDER BY customer_id, answered_at DESC) l
    WHERE cs.customer_id = l.customer_id AND (cs.last_feedback_at IS NULL OR cs.last_feedback_at <= l.answered_at)
  ), follow_up AS (
    INSERT INTO feedback_followup (public_id, response_id, customer_id, store_code, assigned_to_id, associate_code,
                                   status, due_at, resolution, created_at)
    SELECT gen_random_uuid(), resp.id, resp.customer_id, resp.store_code,
           (SELECT x.id FROM clienteling_associate x JOIN auth_user u ON u.id = x.user_id
             WHERE u.username = resp.associate_code AND u.is_active AND resp.associate_code <> '' LIMIT 1),
           resp.associate_code, 'open', a.answered_at + p_due, '', a.answered_at
    FROM resp JOIN answers a ON a.id = resp.invitation_id WHERE a.detractor
    ON CONFLICT (response_id) DO NOTHING
    RETURNING id
  )
  SELECT cardinality(v_ids), (SELECT count(*)::integer FROM resp), (SELECT count(*)::integer FROM follow_up);
END
$fn$;
"""

_0003 = importlib.import_module("feedback.migrations.0003_answer_function")


class Migration(migrations.Migration):
    dependencies = [
        ("feedback", "0003_answer_function"),
    ]

    operations = [
        migrations.CreateModel(
            name="PendingAnswer",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("score", models.SmallIntegerField()),
                ("answered_at", models.DateTimeField()),
                (
                    "invitation",
                    models.ForeignKey(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="feedback.invitation",
                    ),
                ),
            ],
        ),
        migrations.RunSQL(
            TAP_FUNCTION,
            "DROP FUNCTION IF EXISTS feedback_answer_tap(text, bigint, integer, timestamptz, boolean)",
        ),
        migrations.RunSQL(
            APPLY_FUNCTION,
            "DROP FUNCTION IF EXISTS feedback_apply_answers(bigint, integer, interval, interval, boolean)",
        ),
        migrations.RunSQL(
            "DROP FUNCTION IF EXISTS feedback_record_answer("
            "text, bigint, text, integer, boolean, timestamptz, interval, interval, boolean)",
            _0003.ANSWER_FUNCTION,
        ),
    ]
