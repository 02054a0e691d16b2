"""Settings for the Django integration tests: sqlite in memory, shared by every thread.

Applied with ``django.conf.settings.configure(**settings_dict())`` so no environment variable
is needed and another test module may not have configured Django differently.
"""

from __future__ import annotations

from typing import Any

SECRET_KEY = "coderadar-tests-only-not-a-secret"
DEBUG = False
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]
ROOT_URLCONF = "tests.integration.django_project.urls"
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        # One in-memory database for all threads (Django never closes in-memory connections).
        "NAME": "file:coderadar_django_tests?mode=memory&cache=shared",
        "OPTIONS": {"timeout": 20},
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
TEMPLATES: list[dict[str, Any]] = []
USE_TZ = True


def settings_dict() -> dict[str, Any]:
    return {name: value for name, value in globals().items() if name.isupper()}
