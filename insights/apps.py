from django.apps import AppConfig


class InsightsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "insights"
    verbose_name = "Manager insights"

    def ready(self) -> None:
        from insights import signals  # noqa: F401  (her export and erasure: see signals.py)
