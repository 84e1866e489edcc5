"""Test settings: only what makes the suite faster or hermetic."""

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "test-only-secret-key-not-for-production-use-0123456789")
os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,testserver")

from .base import *  # noqa: E402, F403
from .base import CACHES, REST_FRAMEWORK  # noqa: E402

# The suite talks plain HTTP to its own live server.
SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
SECURE_HSTS_SECONDS = 0

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
REST_FRAMEWORK = {
    **REST_FRAMEWORK,
    "DEFAULT_THROTTLE_RATES": {
        "anon": "1000/minute",
        "user": "100000/minute",
        "auth_token": "1000/minute",
    },
}
CELERY_TASK_ALWAYS_EAGER = False
AXES_ENABLED = True

# A concrete ticket type for the shared-core tests; never installed outside tests.
INSTALLED_APPS = [*INSTALLED_APPS, "tests.ticketdemo"]  # noqa: F405

# Each test process keys its cache apart: pytest-xdist workers share one Redis but have
# databases of their own, where the same primary key names different rows. A Celery worker
# a test starts inherits its test process's prefix (tests.processes.start_worker): they
# share a database, and the outbox's nudge flag lives in the cache.
CACHES = {
    "default": {
        **CACHES["default"],
        "KEY_PREFIX": os.environ.get("ITSM_TEST_CACHE_PREFIX") or f"itsm-test-{os.getpid()}",
    }
}
