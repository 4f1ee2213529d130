from django.apps import AppConfig


class IexportConfig(AppConfig):
    name = "bench.iexport"
    label = "bench_iexport"
    default_auto_field = "django.db.models.BigAutoField"
