"""A fresh install has one active, editable NPS survey triggered by purchases and store visits (contract 9)."""

import secrets

from django.db import migrations


def create_default_survey(apps, schema_editor):
    Survey = apps.get_model("feedback", "Survey")
    if Survey.objects.exists():
        return
    Survey.objects.create(
        name="After a purchase or a visit (NPS)",
        kind="nps",
        moments=["purchased", "store_visit"],
        channels=["email", "sms"],
        delay_minutes=120,
        is_active=True,
        token_salt=secrets.token_urlsafe(16),
    )


class Migration(migrations.Migration):
    dependencies = [("feedback", "0001_pulse_feedback")]

    operations = [migrations.RunPython(create_default_survey, migrations.RunPython.noop)]
