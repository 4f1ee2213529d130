"""Every periodic task, in one place (Celery beat reads CELERY_BEAT_SCHEDULE from settings)."""

from datetime import timedelta

from celery.schedules import crontab

BEAT_SCHEDULE: dict[str, dict] = {
    "floor-arrivals-expire": {
        "task": "clienteling.tasks.arrivals_expire",
        "schedule": timedelta(minutes=1),
        "options": {"expires": 50, "queue": "realtime"},
    },
    "insights-touchpoint-rollups": {
        "task": "insights.tasks.refresh_touchpoint_rollups",
        "schedule": timedelta(minutes=2),
        "options": {"expires": 110},
    },
    "insights-sentiment-rollups": {
        "task": "insights.tasks.refresh_sentiment_rollups",
        "schedule": timedelta(minutes=5),
        "options": {"expires": 280},
    },
    # Stored repeat-customer figures for the preset periods: ready a day ahead, so hourly is plenty.
    "insights-repeat-figures": {
        "task": "insights.tasks.refresh_repeat_figures",
        "schedule": crontab(minute=7),
        "options": {"expires": 3000},
    },
    "insights-nightly-segments": {
        "task": "insights.tasks.nightly_segments",
        "schedule": crontab(hour=2, minute=30),
        "options": {"expires": 3 * 3600},
    },
    # Channel files dropped into IMPORT_INBOX_DIR/<source>/ become import jobs.
    "imports-inbox-scan": {
        "task": "profiles.tasks.inbox_scan_task",
        "schedule": timedelta(minutes=1),
        "options": {"expires": 50, "queue": "imports"},
    },
    # Interest reasons say "today" or "this week": rewrite the recent ones after midnight.
    "profiles-interest-reasons": {
        "task": "profiles.tasks.interest_reasons_task",
        "schedule": crontab(hour=0, minute=20),
        "options": {"expires": 3 * 3600, "queue": "imports"},
    },
    "profiles-duplicate-suggestions": {
        "task": "profiles.tasks.duplicate_suggestions_task",
        "schedule": crontab(hour=3, minute=15),
        "options": {"expires": 3 * 3600, "queue": "imports"},
    },
    # Pulse feedback: create invitations from new touchpoints, then send what is due (claims make overlap safe).
    # Answers are committed by the POST as pending rows; this makes them responses, set-based.
    "feedback-apply-answers": {
        "task": "feedback.tasks.answers_apply",
        "schedule": timedelta(seconds=5),
        "options": {"expires": 5},
    },
    "feedback-send-due-invitations": {
        "task": "feedback.tasks.invitations_send_due",
        "schedule": timedelta(minutes=1),
        "options": {"expires": 50, "queue": "sends"},
    },
}
