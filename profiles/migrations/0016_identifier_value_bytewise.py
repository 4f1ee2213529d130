"""Identifiers: values compared byte by byte (collation "C"), and no index of their own for email prefixes.

Search finds an email as the associate types it, by prefix (``value LIKE 'ann.l%'``). Under a language
collation only an index with ``varchar_pattern_ops`` can answer that, so emails had a second index besides
the unique (kind, namespace, value) key; under "C" the unique key's index answers it itself. Identity
resolution only compares values for equality, which is byte equality under every deterministic collation.
COPYing the benchmark's 431k identifiers took 4.2-4.7 s with the extra index and 3.4-3.6 s under "C" without
it (docs/benchmarks.md, "Session 8"). Changing the collation rebuilds the table's indexes on ``value``.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("profiles", "0015_customer_no_name_index"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="identifier", name="identifier_email_prefix"),
        migrations.AlterField(
            model_name="identifier", name="value", field=models.CharField(db_collation="C", max_length=320)
        ),
    ]
