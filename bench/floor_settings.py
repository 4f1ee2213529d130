"""Settings for the store-floor benchmarks: the app's own, plus a trivial view to compare the card against."""

from clienteling.settings import *  # noqa: F403

ROOT_URLCONF = "bench.floor_urls"
# Benchmarks run with DEBUG off (no query log) but without collectstatic: serve static files from the finders.
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}  # noqa: F405
WHITENOISE_USE_FINDERS = True
