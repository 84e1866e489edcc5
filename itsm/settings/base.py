"""Settings for every environment, read from the process environment (12-factor).

Production differs from development only by environment variables; `.env.example`
lists every one of them.
"""

from pathlib import Path

import environ
import pghistory
import structlog
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DJANGO_DEBUG", default=False)
if DEBUG:
    SECRET_KEY = env("DJANGO_SECRET_KEY", default="insecure-development-key-only-for-debug")
    ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
else:
    # No defaults: production must say what it is and where it is served.
    SECRET_KEY = env("DJANGO_SECRET_KEY")
    ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS")

CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
ITSM_BASE_URL = env("ITSM_BASE_URL", default="http://127.0.0.1:8000")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "django_fsm",
    "pgtrigger",
    "pghistory",
    "pghistory.admin",
    "axes",
    "csp",
    "core",
    "notifications",
    "accounts",
    "config_items",
    "sla",
    "incidents",
    "problems",
    "changes",
    "portal",
    "reports",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.middleware.UserPreferencesMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "pghistory.middleware.HistoryMiddleware",
    "core.middleware.RequestLogMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "itsm.urls"
WSGI_APPLICATION = "itsm.wsgi.application"
ASGI_APPLICATION = "itsm.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.template.context_processors.tz",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "core.context_processors.navigation",
                "notifications.context_processors.notifications",
            ],
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/itsm"),
}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("ITSM_DB_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# Django's backend with a health check that costs no round trip on a quiet connection.
DATABASES["default"]["ENGINE"] = "core.postgresql"
# psycopg 3 with server-side parameter binding, so that a statement run
# ITSM_DB_PREPARE_THRESHOLD times on a connection becomes a server-side prepared
# statement and is not planned again (planning dominated the incident reads: 21 indexes,
# a 13-table join). "off" disables preparing, as a transaction-mode pgbouncer needs.
_prepare_threshold = env.str("ITSM_DB_PREPARE_THRESHOLD", default="2").strip().lower()
DATABASES["default"].setdefault("OPTIONS", {}).update(
    {
        "server_side_binding": env.bool("ITSM_DB_SERVER_SIDE_BINDING", default=True),
        "prepare_threshold": None if _prepare_threshold in ("", "off") else int(_prepare_threshold),
    }
)
# No JIT compilation: it cost 0.5 s per statement on the SLA breach list over 2M clocks
# (PostgreSQL compiles any statement estimated above jit_above_cost), far more than it saves
# on these short OLTP queries. Kept with any options of DATABASE_URL.
_db_options = DATABASES["default"]["OPTIONS"]
_db_options["options"] = f"{_db_options.get('options', '')} -c jit=off".strip()
# Services own their transactions (STYLE.md §7).
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env("REDIS_URL", default="redis://127.0.0.1:6379/0")
CACHES = {
    "default": {
        "BACKEND": "core.cache.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": env("ITSM_CACHE_PREFIX", default="itsm"),
        "TIMEOUT": 300,
        # Fail fast when Redis is unreachable: the cache then degrades to no cache for a
        # few seconds (core.cache) instead of holding the request.
        "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 2.0},
    }
}

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "accounts.backends.EmailOrUsernameBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "core:home"
LOGOUT_REDIRECT_URL = "accounts:login"

# Lockout after repeated failed logins (django-axes), by username and address together,
# so one attacker cannot lock a user out from everywhere.
AXES_FAILURE_LIMIT = env.int("ITSM_LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("ITSM_LOGIN_COOLOFF_HOURS", default=0.5)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
AXES_USERNAME_FORM_FIELD = "username"

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("zh-hans", _("Simplified Chinese"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = "UTC"
LANGUAGE_COOKIE_NAME = "itsm_language"

STATIC_URL = "/static/"
STATIC_ROOT = env.path("ITSM_STATIC_ROOT", default=BASE_DIR / "staticfiles")
# Only the built files of the npm packages (package.json), never the whole node_modules tree.
STATICFILES_DIRS = [
    BASE_DIR / "static",
    ("vendor/bootstrap", BASE_DIR / "node_modules" / "bootstrap" / "dist"),
    ("vendor/bootstrap-icons", BASE_DIR / "node_modules" / "bootstrap-icons" / "font"),
    ("vendor/chart.js", BASE_DIR / "node_modules" / "chart.js" / "dist"),
    ("vendor/cytoscape", BASE_DIR / "node_modules" / "cytoscape" / "dist"),
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": env(
            "ITSM_STATICFILES_STORAGE",
            default="whitenoise.storage.CompressedManifestStaticFilesStorage"
            if not DEBUG
            else "django.contrib.staticfiles.storage.StaticFilesStorage",
        )
    },
}
MEDIA_ROOT = env.path("ITSM_MEDIA_ROOT", default=BASE_DIR / "var" / "media")
MEDIA_URL = "/media/"

ITSM_ATTACHMENT_MAX_BYTES = env.int("ITSM_ATTACHMENT_MAX_BYTES", default=10 * 1024 * 1024)
ITSM_ATTACHMENT_EXTENSIONS = env.list(
    "ITSM_ATTACHMENT_EXTENSIONS",
    default=[
        "txt",
        "log",
        "csv",
        "json",
        "xml",
        "pdf",
        "png",
        "jpg",
        "jpeg",
        "gif",
        "webp",
        "doc",
        "docx",
        "xls",
        "xlsx",
        "ppt",
        "pptx",
        "odt",
        "ods",
        "zip",
        "eml",
        "msg",
    ],
)
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

EMAIL_CONFIG = env.email("ITSM_EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env("ITSM_DEFAULT_FROM_EMAIL", default="service-desk@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Security headers. HTTPS-only settings are on whenever DEBUG is off.
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = env.int("ITSM_SESSION_AGE_SECONDS", default=8 * 3600)
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env.bool("DJANGO_BEHIND_PROXY", default=False) else None
)
SILENCED_SYSTEM_CHECKS = []

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    }
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["core.api.permissions.ModelPermissions"],
    "DEFAULT_PAGINATION_CLASS": "core.api.pagination.CursorPagination",
    "PAGE_SIZE": 25,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "core.api.exceptions.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        "core.api.throttling.AnonRateThrottle",
        "core.api.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env("ITSM_API_THROTTLE_ANON", default="60/minute"),
        "user": env("ITSM_API_THROTTLE_USER", default="6000/minute"),
        "auth_token": env("ITSM_API_THROTTLE_TOKEN_LOGIN", default="10/minute"),
    },
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
# Lifetime of a token obtained with a password at POST /api/v1/auth/token/.
ITSM_API_LOGIN_TOKEN_HOURS = env.int("ITSM_API_LOGIN_TOKEN_HOURS", default=24)
SPECTACULAR_SETTINGS = {
    "TITLE": "ITSM API",
    "DESCRIPTION": "REST API of the IT service management system (ISO/IEC 20000-1:2018).",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    # Several models have a `status`; name each enum after its lifecycle.
    "ENUM_NAME_OVERRIDES": {
        "CIStatusEnum": "config_items.choices.CIStatus",
        "ImportStatusEnum": "config_items.choices.ImportStatus",
        "IncidentStatusEnum": "incidents.choices.IncidentStatus",
        "IncidentChannelEnum": "incidents.choices.Channel",
        # Impact and urgency share one 1-3 scale (identical choices, so one enum).
        "ImpactUrgencyEnum": "incidents.choices.Impact",
        "PendingReasonEnum": "incidents.choices.PendingReason",
        "ResolutionCodeEnum": "incidents.choices.ResolutionCode",
        "PriorityEnum": "core.choices.Priority",
        "AgreementKindEnum": "sla.choices.AgreementKind",
        "CalendarDayKindEnum": "sla.choices.CalendarDayKind",
        "ClockEventKindEnum": "sla.choices.ClockEventKind",
        "WeekdayEnum": "sla.choices.Weekday",
        "ClockStateEnum": "sla.choices.ClockState",
        "EscalationActionKindEnum": "sla.choices.EscalationActionKind",
    },
}

CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_RESULT_BACKEND = None
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_TIME_LIMIT = env.int("ITSM_TASK_TIME_LIMIT", default=300)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("ITSM_TASK_SOFT_TIME_LIMIT", default=240)
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"
# A publish (the outbox nudge after a commit, the relay) gives up fast when Redis is down:
# the outbox keeps the message and the next relay run publishes it.
CELERY_BROKER_CONNECTION_TIMEOUT = env.float("ITSM_BROKER_CONNECTION_TIMEOUT", default=2.0)
CELERY_BROKER_TRANSPORT_OPTIONS = {"socket_connect_timeout": CELERY_BROKER_CONNECTION_TIMEOUT}
# Handler (dotted path) per outbox topic; each receives the OutboxMessage (core/outbox.py).
ITSM_OUTBOX_HANDLERS = {
    f"incident.{event}": f"incidents.notifications.incident_{event}_handler"
    for event in (
        "assigned",
        "resolved",
        "reopened",
        "customer_replied",
        "major_declared",
        "major_update",
    )
}
ITSM_OUTBOX_HANDLERS["sla.fired"] = "sla.services.clock_fired_handler"
ITSM_OUTBOX_HANDLERS["sla.escalate"] = "sla.services.clock_escalate_handler"
# Queue per outbox topic; unlisted topics go to Celery's default queue ("celery"). The SLA
# worker (README, Architecture) consumes only "sla-tick" (the tick) and "sla" (recording
# what it fired), so a breach is recorded within one tick interval however much
# notification work waits on the default queue; the tick has a queue of its own so that
# a burst of recordings waiting on "sla" cannot hold the next tick back (the worker takes
# from both queues in turn).
# The dashboard's warm task runs there too: behind a burst of notifications on the default
# queue it would miss its 60 s window, and managers would meet the cold aggregation.
ITSM_OUTBOX_QUEUES = {"sla.fired": "sla"}
CELERY_TASK_ROUTES = {
    "sla.tasks.clock_tick_task": {"queue": "sla-tick"},
    "sla.tasks.dashboard_cache_warm_task": {"queue": "sla"},
}
# How often the SLA tick fires due warnings and breaches (a breach is recorded within one
# interval of its moment).
ITSM_SLA_TICK_SECONDS = env.float("ITSM_SLA_TICK_SECONDS", default=15.0)
# Every periodic job is declared here and nowhere else (STYLE.md §11).
CELERY_BEAT_SCHEDULE = {
    "core-session-cleanup": {"task": "core.tasks.session_cleanup_task", "schedule": 24 * 3600.0},
    "core-outbox-relay": {"task": "core.tasks.outbox_relay_task", "schedule": 5.0},
    "core-outbox-purge": {"task": "core.tasks.outbox_purge_task", "schedule": 24 * 3600.0},
    "sla-clock-tick": {"task": "sla.tasks.clock_tick_task", "schedule": ITSM_SLA_TICK_SECONDS},
    # The default SLA dashboard stays cached (60 s entries refreshed every 50 s).
    "sla-dashboard-cache-warm": {"task": "sla.tasks.dashboard_cache_warm_task", "schedule": 50.0},
    "sla-holidays-import": {
        "task": "sla.tasks.calendars_holidays_import_task",
        "schedule": 7 * 24 * 3600.0,
    },
    "incidents-auto-close": {
        "task": "incidents.tasks.incident_close_resolved_task",
        "schedule": 15 * 60.0,
    },
}

# Audit trail for non-ticket records (users, organisations, groups, roles, later SLA
# definitions): database triggers, append-only event tables, statement-level triggers so
# bulk writes stay fast.
PGHISTORY_APPEND_ONLY = True
# Reads change nothing: only writing requests carry the history context (it wraps every
# SQL statement of the request).
PGHISTORY_MIDDLEWARE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
PGHISTORY_LEVEL = pghistory.Statement
PGHISTORY_OBJ_FIELD = pghistory.ObjForeignKey(db_index=True)

LOG_LEVEL = env("ITSM_LOG_LEVEL", default="INFO")
LOG_FORMAT = env("ITSM_LOG_FORMAT", default="console" if DEBUG else "json")
structlog.configure(
    processors=[
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.filter_by_level,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
        structlog.processors.format_exc_info,
        structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
    ],
    logger_factory=structlog.stdlib.LoggerFactory(),
    cache_logger_on_first_use=True,
)
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "structured": {
            "()": structlog.stdlib.ProcessorFormatter,
            "processor": structlog.processors.JSONRenderer()
            if LOG_FORMAT == "json"
            else structlog.dev.ConsoleRenderer(colors=False),
            "foreign_pre_chain": [
                structlog.stdlib.add_log_level,
                structlog.stdlib.add_logger_name,
                structlog.processors.TimeStamper(fmt="iso", utc=True),
            ],
        },
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "structured"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "axes": {"level": "WARNING"},
        "pgtrigger": {"level": "WARNING"},
    },
}
# Demo data and benchmark volumes, one entry per app, run in this order by
# `manage.py seed_demo` and `manage.py seed_volume`.
ITSM_DEMO_LOADERS = [
    "core.demo.demo_data_load",
    "config_items.demo.cmdb_demo_load",
    "sla.demo.sla_demo_load",
    "incidents.demo.incident_demo_load",
    "sla.demo.sla_outages_demo_load",
]
ITSM_VOLUME_SEEDERS = [
    "core.volume.volume_seed_from_options",
    "config_items.volume.cmdb_volume_seed_from_options",
    "incidents.volume.incident_volume_seed_from_options",
    "sla.volume.sla_volume_seed_from_options",
]

# Triggers on auth's many-to-many tables (role grants) are not in any migration of ours;
# pgtrigger installs every registered trigger after `migrate`.
PGTRIGGER_INSTALL_ON_MIGRATE = True

# Incidents: days after resolution before a resolved incident closes by itself.
ITSM_INCIDENT_AUTO_CLOSE_DAYS = env.int("ITSM_INCIDENT_AUTO_CLOSE_DAYS", default=5)
