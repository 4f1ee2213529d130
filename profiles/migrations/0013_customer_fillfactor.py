"""Customers: leave 30% of every table page free, so that updates that change no indexed column stay on the page.

PostgreSQL can update a row in place of an index-free "heap-only tuple" (HOT) only when the row's page has
room for the new version. Packed full (the default), every lifecycle, consent or tier change of a customer
writes new entries into all five of her indexes, among them ~27 search tokens in the GIN index. A 1M-row
import sets the lifecycle of about a third of its new customers after their first purchase: measured on the
benchmark's 211k customers (docs/benchmarks.md, "Session 7"), that UPDATE took 2.0 s packed and 0.45 s at
fillfactor 70 (92% HOT), while the COPY of the customers cost the same either way; the table is ~27% bigger.

Existing pages keep their layout until rewritten (``VACUUM FULL`` or ``CLUSTER``); new ones follow the setting.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("profiles", "0012_customer_public_id_db_default"),
    ]

    operations = [
        migrations.RunSQL(
            "ALTER TABLE profiles_customer SET (fillfactor = 70)",
            reverse_sql="ALTER TABLE profiles_customer RESET (fillfactor)",
        ),
    ]
