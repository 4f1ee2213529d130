"""Settings for Clienteling, read from the environment.

Every value has a safe default for a developer's machine except the ones that must never be
defaulted in production (SECRET_KEY with DEBUG off). Bad values fail loudly at start-up.
See the configuration table in README.md.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from urllib.parse import quote

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def envbool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean; use true or false.")


def envint(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a whole number.") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name}={value} must be at least {minimum}.")
    return value


def envlist(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


TESTING = "pytest" in sys.modules or os.environ.get("CLIENTELING_TESTING") == "1"
DEBUG = envbool("DEBUG", False)

_DEV_SECRET = "dev-only-insecure-secret-key-never-use-in-production"  # noqa: S105 - refused below when DEBUG is off
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not (DEBUG or TESTING):
        raise ImproperlyConfigured("SECRET_KEY is not set. With DEBUG off a real secret is required.")
    SECRET_KEY = _DEV_SECRET
elif SECRET_KEY == _DEV_SECRET and not DEBUG:
    raise ImproperlyConfigured("SECRET_KEY is the development default; set a real secret for production.")
if not DEBUG and not TESTING and len(SECRET_KEY) < 50:
    raise ImproperlyConfigured("SECRET_KEY must be at least 50 characters long with DEBUG off.")

ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS", [])
PORT = envint("PORT", 8000, minimum=1)
SITE_URL = os.environ.get("SITE_URL", f"http://localhost:{PORT}").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",
    "django_htmx",
    "axes",
    "profiles",
    "feedback",
    "insights",
    "clienteling",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "clienteling.middleware.RequestLogMiddleware",
    "django.middleware.locale.LocaleMiddleware",  # reads the language cookie, not the session
    "django.middleware.common.CommonMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    # Everything above applies to every page; customers' public pages (views marked public_page) stop here
    # and skip the staff middleware below (clienteling.middleware.PublicPagesMiddleware).
    "clienteling.middleware.PublicPagesMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "clienteling.middleware.IdleLockMiddleware",
    # Axes last, as its docs require.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "clienteling.urls"
WSGI_APPLICATION = "clienteling.wsgi.application"
ASGI_APPLICATION = "clienteling.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "clienteling.context_processors.floor",
            ],
        },
    },
]

# --- Celery -------------------------------------------------------------------------------------
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_TIMEZONE = "UTC"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = envint("CELERY_TASK_TIME_LIMIT", 3600, minimum=10)
CELERY_TASK_SOFT_TIME_LIMIT = CELERY_TASK_TIME_LIMIT - 5
# Redis redelivers an unacknowledged task after this many seconds: every ETA/countdown stays below it.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": envint("CELERY_VISIBILITY_TIMEOUT", 7200, minimum=60)}
CELERY_TASK_ALWAYS_EAGER = envbool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# --- Auth -----------------------------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "clienteling.auth.StaffBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# One person's typos must not lock a whole store out of its shared Wi-Fi address.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_FAILURE_LIMIT = envint("AXES_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = envint("AXES_COOLOFF_MINUTES", 15, minimum=1) / 60  # hours
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_IPWARE_PROXY_COUNT = envint("AXES_PROXY_COUNT", 0, minimum=0)

SESSION_COOKIE_AGE = envint("SESSION_COOKIE_AGE", 12 * 3600, minimum=60)
SESSION_IDLE_TIMEOUT = envint("SESSION_IDLE_TIMEOUT", 30 * 60, minimum=30)
TABLET_IDLE_LOCK_SECONDS = envint("TABLET_IDLE_LOCK_SECONDS", 120, minimum=10)
TABLET_PIN_FAILURE_LIMIT = envint("TABLET_PIN_FAILURE_LIMIT", 5, minimum=1)
TABLET_PIN_COOLOFF_SECONDS = envint("TABLET_PIN_COOLOFF_SECONDS", 300, minimum=10)
DEVICE_COOKIE_AGE = envint("DEVICE_COOKIE_DAYS", 365, minimum=1) * 86400
# Store floor (docs/configuration-floor.md): how long a greeting card stays up, kiosk rate limit.
ARRIVAL_CARD_TTL_MINUTES = envint("ARRIVAL_CARD_TTL_MINUTES", 20, minimum=1)
KIOSK_CHECKINS_PER_MINUTE = envint("KIOSK_CHECKINS_PER_MINUTE", 12, minimum=1)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the page, not the cookie

# --- Security ------------------------------------------------------------------------------------
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "font-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
}
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", not DEBUG and not TESTING)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SESSION_COOKIE_SECURE = envbool("SECURE_COOKIES", not DEBUG and not TESTING)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", 0 if DEBUG or TESTING else 31536000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = envbool("SECURE_HSTS_PRELOAD", False)
if envbool("BEHIND_TLS_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- I18N / time -----------------------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("fr", "Français")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static ---------------------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not (DEBUG or TESTING)
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG or TESTING
WHITENOISE_AUTOREFRESH = DEBUG or TESTING
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / ".data" / "media"))
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Email ----------------------------------------------------------------------------------------
# The environment keeps Django's classic EMAIL_* names (DESIGN.md contract 13); Django 6.1 reads them
# through MAILERS.
_EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
_EMAIL_OPTIONS: dict = {}
if _EMAIL_BACKEND.endswith("smtp.EmailBackend"):
    _EMAIL_OPTIONS = {
        "host": os.environ.get("EMAIL_HOST", "localhost"),
        "port": envint("EMAIL_PORT", 25, minimum=1),
        "username": os.environ.get("EMAIL_HOST_USER", ""),
        "password": os.environ.get("EMAIL_HOST_PASSWORD", ""),
        "use_tls": envbool("EMAIL_USE_TLS", False),
        "timeout": envint("EMAIL_TIMEOUT", 20, minimum=1),
    }
MAILERS = {"default": {"BACKEND": _EMAIL_BACKEND, "OPTIONS": _EMAIL_OPTIONS}}
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Clienteling <no-reply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Pulse feedback (see docs/configuration-feedback.md) -------------------------------------------
FEEDBACK_FREQUENCY_CAP_DAYS = envint("FEEDBACK_FREQUENCY_CAP_DAYS", 30, minimum=0)
FEEDBACK_MAX_AGE_HOURS = envint("FEEDBACK_MAX_AGE_HOURS", 72, minimum=1)
FEEDBACK_LINK_MAX_AGE_DAYS = envint("FEEDBACK_LINK_MAX_AGE_DAYS", 30, minimum=1)
FEEDBACK_FOLLOW_UP_DUE_HOURS = envint("FEEDBACK_FOLLOW_UP_DUE_HOURS", 48, minimum=1)
FEEDBACK_SEND_BATCH = envint("FEEDBACK_SEND_BATCH", 200, minimum=1)
FEEDBACK_SMTP_CONNECTIONS = envint("FEEDBACK_SMTP_CONNECTIONS", 16, minimum=1)
FEEDBACK_SEND_LEASE_SECONDS = envint("FEEDBACK_SEND_LEASE_SECONDS", 300, minimum=1)
FEEDBACK_MAX_ATTEMPTS = envint("FEEDBACK_MAX_ATTEMPTS", 5, minimum=1)
FEEDBACK_RATE_LIMIT_PER_MINUTE = envint("FEEDBACK_RATE_LIMIT_PER_MINUTE", 30, minimum=1)
# Web processes (the Procfile's -w): each counts the public pages' per-IP limit for its share of it.
WEB_WORKERS = envint("WEB_WORKERS", 2, minimum=1)
# Answers commit without waiting for the WAL flush: a PostgreSQL crash may lose the last ~0.6 s of answers.
FEEDBACK_ANSWER_ASYNC_COMMIT = envbool("FEEDBACK_ANSWER_ASYNC_COMMIT", True)
FEEDBACK_SCAN_CHUNK = envint("FEEDBACK_SCAN_CHUNK", 100_000, minimum=100)
_quiet = os.environ.get("FEEDBACK_QUIET_HOURS", "21-9").strip()
try:
    FEEDBACK_QUIET_HOURS = tuple(int(h) for h in _quiet.split("-")) if _quiet else None
    if FEEDBACK_QUIET_HOURS and (len(FEEDBACK_QUIET_HOURS) != 2 or not all(0 <= h <= 23 for h in FEEDBACK_QUIET_HOURS)):
        raise ValueError
except ValueError:
    raise ImproperlyConfigured(
        f"FEEDBACK_QUIET_HOURS={_quiet!r} must look like 21-9 (start-end hours), or be empty."
    ) from None
SMS_BACKEND = os.environ.get("SMS_BACKEND", "feedback.sms.ConsoleSmsBackend")
SMS_HTTP_URL = os.environ.get("SMS_HTTP_URL", "")
SMS_HTTP_TOKEN = os.environ.get("SMS_HTTP_TOKEN", "")
SMS_FROM = os.environ.get("SMS_FROM", "Clienteling")

# --- Channel imports and identity resolution (see README "Imports") ----------------------------------
IMPORT_BATCH_SIZE = envint("IMPORT_BATCH_SIZE", 20000, minimum=100)
IMPORT_PLAN_BATCHES = envint("IMPORT_PLAN_BATCHES", 50, minimum=1)
IMPORT_PHONE_PREFETCH = envbool("IMPORT_PHONE_PREFETCH", True)
IMPORT_INBOX_DIR = Path(os.environ.get("IMPORT_INBOX_DIR") or BASE_DIR / ".data" / "inbox")
IMPORT_UPLOAD_DIR = Path(os.environ.get("IMPORT_UPLOAD_DIR") or BASE_DIR / ".data" / "uploads")


def envkinds(name: str, *, numbers: bool) -> dict:
    """``kind=value,kind=value`` (e.g. ``email=1,phone=2``), one kind repeatable for lists."""
    result: dict = {}
    for item in envlist(name, []):
        kind, sep, value = item.partition("=")
        kind, value = kind.strip(), value.strip()
        if not sep or not kind or not value:
            raise ImproperlyConfigured(f"{name}: {item!r} must look like kind=value")
        if numbers:
            if not value.isdigit() or int(value) < 1:
                raise ImproperlyConfigured(f"{name}: {item!r} needs a whole number of at least 1")
            result[kind] = int(value)
        else:
            result.setdefault(kind, []).append(value)
    return result


# How many values of one identifier kind a customer may hold before a linking row goes to review instead.
IDENTITY_SHARED_VALUE_LIMIT = envkinds("IDENTITY_SHARED_VALUE_LIMIT", numbers=True)
# Extra blocked placeholder values, added to the built-in list (profiles/normalize.py), e.g. the stores' phones.
IDENTIFIER_PLACEHOLDERS_EXTRA = envkinds("IDENTIFIER_PLACEHOLDERS_EXTRA", numbers=False)

# --- Logging: one JSON object per line ------------------------------------------------------------
LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO").upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "clienteling.logs.JsonFormatter"}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json"}},
    "root": {"handlers": ["stderr"], "level": LOG_LEVEL},
    "loggers": {
        "django.server": {"level": "WARNING"},
        "axes": {"level": "WARNING"},
        "pgserver": {"level": "WARNING"},
    },
}

# --- Services ---------------------------------------------------------------------------------
# Last, so that every other setting is validated before anything is started.
# Unset URLs mean "start the embedded servers under .data/" (see clienteling/embedded.py).
DATABASE_URL = os.environ.get("DATABASE_URL", "")
REDIS_URL = os.environ.get("REDIS_URL", "")
_CONN_MAX_AGE = envint("DB_CONN_MAX_AGE", 600, minimum=0)
DB_POOL = envbool("DB_POOL", not TESTING)
_DB_POOL_MAX = envint("DB_POOL_MAX_SIZE", 8, minimum=1)
if DATABASE_URL and not DATABASE_URL.startswith(("postgres://", "postgresql://")):
    raise ImproperlyConfigured("DATABASE_URL must be a postgresql:// URL; Clienteling runs on PostgreSQL only.")
if REDIS_URL and not REDIS_URL.startswith(("redis://", "rediss://", "unix://")):
    raise ImproperlyConfigured("REDIS_URL must be a redis://, rediss:// or unix:// URL.")

EMBEDDED_POSTGRES = not DATABASE_URL
EMBEDDED_REDIS = not REDIS_URL
if EMBEDDED_POSTGRES or EMBEDDED_REDIS:
    from clienteling import embedded
if EMBEDDED_POSTGRES:
    DATABASE_URL = embedded.postgres_url()
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=_CONN_MAX_AGE, conn_health_checks=True)}
DATABASES["default"].setdefault("OPTIONS", {})["application_name"] = "clienteling"
# Under ASGI, Django's persistent connections are per thread and pile up ("too many clients"); a psycopg pool
# per process bounds them. Tests run without it so that each test database connection is plain.
if DB_POOL:
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = False
    DATABASES["default"]["OPTIONS"]["pool"] = {"min_size": 1, "max_size": _DB_POOL_MAX, "timeout": 10}
_TEST_DB = os.environ.get("CLIENTELING_TEST_DB")
if _TEST_DB:
    DATABASES["default"]["TEST"] = {"NAME": _TEST_DB}

if EMBEDDED_REDIS:
    _socket = quote(str(embedded.redis_socket()))
    REDIS_URL = f"unix://{_socket}?db=0"
    CELERY_BROKER_URL = f"redis+socket://{_socket}?virtual_host=1"
else:
    CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", REDIS_URL)

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        # Parallel test workers share one Redis: each gets its own key space.
        "KEY_PREFIX": os.environ.get("CACHE_KEY_PREFIX", "clienteling") + os.environ.get("PYTEST_XDIST_WORKER", ""),
    }
}

from clienteling.beat import BEAT_SCHEDULE as CELERY_BEAT_SCHEDULE  # noqa: E402, F401
