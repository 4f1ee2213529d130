import os
import secrets
import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from clienteling.settings import envbool, envint, envlist


def test_envbool_reads_the_usual_spellings(monkeypatch):
    monkeypatch.setenv("FLAG", "Yes")
    assert envbool("FLAG", False) is True
    monkeypatch.setenv("FLAG", "off")
    assert envbool("FLAG", True) is False


def test_envbool_refuses_anything_else(monkeypatch):
    monkeypatch.setenv("FLAG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="FLAG='maybe' is not a boolean"):
        envbool("FLAG", False)


def test_envint_refuses_words_and_values_below_the_minimum(monkeypatch):
    monkeypatch.setenv("N", "ten")
    with pytest.raises(ImproperlyConfigured, match="not a whole number"):
        envint("N", 1)
    monkeypatch.setenv("N", "3")
    with pytest.raises(ImproperlyConfigured, match="at least 10"):
        envint("N", 20, minimum=10)


def test_envlist_splits_and_trims(monkeypatch):
    monkeypatch.setenv("HOSTS", " a.example , b.example,,")
    assert envlist("HOSTS", []) == ["a.example", "b.example"]


def _settings_import(env: dict) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY", "CLIENTELING_TESTING"}}
    clean.update(env)
    return subprocess.run(
        [sys.executable, "-c", "import clienteling.settings"], env=clean, capture_output=True, text=True, check=False
    )


def test_it_refuses_to_start_without_a_secret_when_debug_is_off():
    result = _settings_import({"DEBUG": "false"})
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_it_refuses_the_development_secret_when_debug_is_off():
    result = _settings_import({"DEBUG": "false", "SECRET_KEY": "dev-only-insecure-secret-key-never-use-in-production"})
    assert result.returncode != 0
    assert "development default" in result.stderr


def test_it_refuses_a_bad_debug_value():
    result = _settings_import({"DEBUG": "sometimes"})
    assert result.returncode != 0
    assert "DEBUG='sometimes' is not a boolean" in result.stderr


def test_check_deploy_is_clean_with_the_documented_production_environment():
    env = {
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "ALLOWED_HOSTS": "clienteling.example.com",
        "SECURE_HSTS_PRELOAD": "true",
    }
    unset = {"DEBUG", "SECRET_KEY", "CLIENTELING_TESTING", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    clean = {k: v for k, v in os.environ.items() if k not in unset}
    clean.update(env)
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        env=clean, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
