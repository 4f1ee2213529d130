import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from clienteling.models import Associate, Role


def test_healthz_answers_ok_when_database_and_redis_answer(client, db):
    response = client.get(reverse("healthz"))
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_healthz_names_redis_when_it_is_down(client, db, monkeypatch):
    import redis

    class Down:
        def ping(self):
            raise redis.ConnectionError("refused")

    monkeypatch.setattr("clienteling.views.redis_client", lambda: Down())
    response = client.get(reverse("healthz"))
    assert response.status_code == 503
    assert response.json()["failing"] == {"redis": "ConnectionError"}


def test_healthz_names_the_database_when_it_is_down(client, db, monkeypatch):
    from django.db import OperationalError

    class Gone:
        def cursor(self):
            raise OperationalError("gone")

    monkeypatch.setattr("clienteling.views.connection", Gone())
    response = client.get(reverse("healthz"))
    assert response.status_code == 503
    assert "database" in response.json()["failing"]


def test_add_staff_creates_then_updates_a_staff_member(store, capsys):
    call_command(
        "add_staff", "maya", "--store", store.code, "--role", "associate", "--password", "s3cret-pass", "--pin", "2468"
    )
    maya = Associate.objects.get(user__username="maya")
    assert maya.role == Role.ASSOCIATE and list(maya.stores.all()) == [store]
    assert maya.user.check_password("s3cret-pass") and maya.check_pin("2468")
    assert "Created maya" in capsys.readouterr().out
    call_command("add_staff", "maya", "--store", store.code, "--role", "manager")
    maya.refresh_from_db()
    assert maya.role == Role.MANAGER and maya.user.check_password("s3cret-pass")
    assert "Updated maya" in capsys.readouterr().out


def test_add_staff_names_the_known_stores_when_the_code_is_wrong(store):
    with pytest.raises(CommandError, match=r"No store with code 'NOPE' \(known: PAR01\)"):
        call_command("add_staff", "x", "--store", "NOPE", "--role", "associate")


def test_add_staff_refuses_a_bad_pin(store):
    with pytest.raises(CommandError, match="4 to 8 digits"):
        call_command("add_staff", "x", "--store", store.code, "--role", "associate", "--pin", "12ab")


def test_only_admins_get_the_django_admin(store):
    call_command("add_staff", "boss", "--role", "admin", "--password", "s3cret-pass")
    call_command("add_staff", "mgr", "--store", store.code, "--role", "manager", "--password", "s3cret-pass")
    assert Associate.objects.get(user__username="boss").user.is_staff
    assert not Associate.objects.get(user__username="mgr").user.is_staff


def test_requests_are_logged_as_json_without_query_strings(client, db, caplog):
    caplog.set_level("INFO", logger="clienteling.request")
    client.get(reverse("login") + "?token=secret")
    record = next(r for r in caplog.records if r.name == "clienteling.request")
    assert record.path == "/login/" and record.status == 200
    from clienteling.logs import JsonFormatter

    line = JsonFormatter().format(record)
    assert '"path": "/login/"' in line and "secret" not in line


def test_every_beat_entry_names_a_registered_task():
    from clienteling.beat import BEAT_SCHEDULE
    from clienteling.celery import app

    app.loader.import_default_modules()
    missing = {name: entry["task"] for name, entry in BEAT_SCHEDULE.items() if entry["task"] not in app.tasks}
    assert missing == {}
