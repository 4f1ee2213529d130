"""Settings for the feedback answer benchmark: the app's own, plus /bench/trivial/ as the yardstick."""

from clienteling.settings import *  # noqa: F403

ROOT_URLCONF = "bench.feedback_urls"
# DEBUG off (no query log) without collectstatic: static files from the finders.
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}  # noqa: F405
WHITENOISE_USE_FINDERS = True
