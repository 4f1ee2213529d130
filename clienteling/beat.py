"""Every periodic task, in one place (Celery beat reads CELERY_BEAT_SCHEDULE from settings)."""

from datetime import timedelta

BEAT_SCHEDULE: dict[str, dict] = {
    "housekeeping-heartbeat": {
        "task": "clienteling.tasks.heartbeat",
        "schedule": timedelta(minutes=1),
        "options": {"expires": 50},
    },
    "floor-arrivals-expire": {
        "task": "clienteling.tasks.arrivals_expire",
        "schedule": timedelta(minutes=1),
        "options": {"expires": 50, "queue": "realtime"},
    },
    # Pulse feedback: create invitations from new touchpoints, then send what is due (claims make overlap safe).
    "feedback-send-due-invitations": {
        "task": "feedback.tasks.invitations_send_due",
        "schedule": timedelta(minutes=1),
        "options": {"expires": 50, "queue": "sends"},
    },
}
