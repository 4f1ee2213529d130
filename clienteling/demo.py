"""Deterministic demo data: three stores in three time zones, their staff, customers and touchpoints.

Customers and touchpoints come from ``profiles.demo`` (a channel-file generator that the import
benchmark uses too) and go in through the real import pipeline.
"""

from __future__ import annotations

import io

from django.core.management import call_command
from django.db import transaction

from clienteling.models import Region, Role, Store
from clienteling.services import staff_upsert

DEMO_PASSWORD = "clienteling-demo"  # noqa: S105 - documented demo login, printed by `make run`

STORES = [
    # code, name, city, region, timezone, country
    ("PAR01", "Paris Marais", "Paris", "Europe", "Europe/Paris", "FR"),
    ("NYC01", "New York SoHo", "New York", "Americas", "America/New_York", "US"),
    ("TYO01", "Tokyo Omotesando", "Tokyo", "Asia Pacific", "Asia/Tokyo", "JP"),
]

# username, display name, role, store codes, PIN
STAFF = [
    ("admin", "Alex Admin", Role.ADMIN, [], "9000"),
    ("regional", "Robin Reyes", Role.REGIONAL, ["PAR01", "NYC01"], "9100"),
    ("camille", "Camille Laurent", Role.MANAGER, ["PAR01"], "1100"),
    ("hugo", "Hugo Martin", Role.ASSOCIATE, ["PAR01"], "1101"),
    ("lea", "Léa Bernard", Role.ASSOCIATE, ["PAR01"], "1102"),
    ("ines", "Inès Moreau", Role.ASSOCIATE, ["PAR01"], "1103"),
    ("jordan", "Jordan Smith", Role.MANAGER, ["NYC01"], "2200"),
    ("maya", "Maya Rodriguez", Role.ASSOCIATE, ["NYC01"], "2201"),
    ("devon", "Devon Carter", Role.ASSOCIATE, ["NYC01"], "2202"),
    ("priya", "Priya Patel", Role.ASSOCIATE, ["NYC01"], "2203"),
    ("haruto", "Haruto Sato", Role.MANAGER, ["TYO01"], "3300"),
    ("yui", "Yui Tanaka", Role.ASSOCIATE, ["TYO01"], "3301"),
    ("ren", "Ren Suzuki", Role.ASSOCIATE, ["TYO01"], "3302"),
    ("aoi", "Aoi Watanabe", Role.ASSOCIATE, ["TYO01"], "3303"),
    ("sam", "Sam Okafor", Role.ASSOCIATE, ["NYC01", "PAR01"], "4400"),
]


def already_seeded() -> bool:
    return Store.objects.exists()


@transaction.atomic
def seed_floor() -> dict[str, int]:
    stores = {}
    for code, name, city, region_name, tz, country in STORES:
        region, _ = Region.objects.get_or_create(name=region_name)
        store, _ = Store.objects.update_or_create(
            code=code, defaults={"name": name, "city": city, "region": region, "timezone": tz, "country": country}
        )
        stores[code] = store
    for username, display_name, role, codes, pin in STAFF:
        associate, _ = staff_upsert(
            username=username, store=None, role=role, password=DEMO_PASSWORD, pin=pin,
            display_name=display_name, email=f"{username}@demo.clienteling.example",
        )  # fmt: skip
        associate.stores.set([stores[c] for c in codes])
    return {"stores": len(stores), "staff": len(STAFF)}


def seed(*, customers: int, touchpoints: int, seed: int, out=None) -> dict[str, int]:
    stats = seed_floor()
    stats.update({"customers": 0, "touchpoints": 0})
    try:
        from profiles import demo as profile_demo
    except ImportError:  # the channel generator is not installed in this build
        return stats
    # Store staff (not admins or regionals) are the associates named on in-store touchpoints.
    associates = {
        code: [
            username
            for username, _, role, codes, _ in STAFF
            if code in codes and role in (Role.ASSOCIATE, Role.MANAGER)
        ]
        for code, *_ in STORES
    }
    stats.update(
        profile_demo.seed(
            customers=customers, touchpoints=touchpoints, seed=seed, stores=STORES, associates=associates, out=out
        )
    )
    if stats["customers"]:
        from feedback import demo as feedback_demo

        answers = feedback_demo.seed(seed=seed)
        stats["responses"] = answers.get("responses", 0)
        # The dashboards read rollups that beat keeps fresh; build them now so a new install shows numbers at once.
        call_command("insights_rebuild", stdout=out or io.StringIO())
    return stats


def logins_text() -> str:
    lines = [f"Demo logins (password for all: {DEMO_PASSWORD}):"]
    for username, display_name, role, codes, pin in STAFF:
        where = ", ".join(codes) or "all stores"
        lines.append(f"  {username:<9} {role.label:<17} {where:<12} tablet PIN {pin}  ({display_name})")
    return "\n".join(lines)
