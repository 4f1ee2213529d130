"""Settings for benchmarks only: the app's settings plus the bench-only comparison models.

The ``bench.iexport`` app has no migrations on purpose (``migrate --run-syncdb`` creates its tables in the
benchmark's throwaway database), so the app's own migration graph never sees it.
"""

from clienteling.settings import *  # noqa: F403

INSTALLED_APPS = [*INSTALLED_APPS, "import_export", "bench.iexport"]  # noqa: F405
