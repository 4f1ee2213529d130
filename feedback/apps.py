from django.apps import AppConfig


class FeedbackConfig(AppConfig):
    name = "feedback"
    verbose_name = "Pulse feedback"

    def ready(self) -> None:
        from feedback import signals  # noqa: F401  (her export and erasure: see signals.py)
