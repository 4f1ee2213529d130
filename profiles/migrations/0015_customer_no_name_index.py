"""Customers: no index on (last_name, first_name).

Nothing reads customers in name order any more: search goes through the search tokens' GIN index and sorts
its few hits, and the fuzzy duplicate suggestions compare lowercased names, which this index cannot serve.
Every new customer still paid for it: COPYing the benchmark's 211k customers took 5.0-5.3 s with it and
4.3-4.5 s without (docs/benchmarks.md, "Session 8"), on the import's critical path.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("profiles", "0014_interest_keyed_by_what_it_is_about"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="customer", name="profiles_cu_last_na_6cb81d_idx"),
    ]
