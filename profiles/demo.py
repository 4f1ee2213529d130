"""Deterministic, realistic channel data for the demo and the import benchmark.

Two entry points:

- ``seed()`` (called by ``seed_demo`` through ``clienteling.demo``) writes one file per source under
  ``.data/demo/``: contract-4 channel CSV for ``web``, ``pos``, ``call-center`` and ``crm``, Segment JSONL
  (contract 5) for ``app``, and imports them through the real pipeline, ``import_channel_data``: the demo
  exercises exactly what a retailer's files would.
- ``write_channel_csv()`` streams a large single-source file (1M rows for 200k customers) for ``bench/``,
  with emails and phones reused across rows so identity resolution has real work to do.

Same seed, same ``now`` => byte-identical files. Names come from Faker (fr_FR, en_US, ja_JP) seeded, drawn
once into pools; Faker's output may change between versions, which ``constraints.txt`` pins. Every email
address uses the reserved example domains (RFC 2606) so a demo can never write to a real person.
"""

# Seeded pseudo-random numbers are the point here: reproducible data, nothing secret.
# ruff: noqa: S311

from __future__ import annotations

import csv
import io
import json
import math
import random
import unicodedata
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

HEADER = [
    "event_id", "occurred_at", "event", "channel", "customer_id", "email", "phone", "loyalty_id", "anonymous_id",
    "first_name", "last_name", "store_code", "associate", "order_id", "product_sku", "product_name", "category",
    "brand", "size", "color", "quantity", "price", "revenue", "currency", "consent_recognition", "consent_email",
    "consent_sms", "consent_surveys", "properties",
]  # fmt: skip

# Source name -> Source.kind. One file each; the order is the import order.
SOURCES = {"web": "web", "app": "app", "pos": "store", "call-center": "call_center", "crm": "email"}
# The app's events arrive as its Segment SDK sends them (contract 5); the others as channel CSV (contract 4).
JSONL_SOURCES = {"app"}
# contract-4 column -> Segment e-commerce v2 property
SEGMENT_PROPERTIES = [
    ("product_sku", "sku"), ("product_name", "name"), ("category", "category"), ("brand", "brand"),
    ("size", "size"), ("color", "color"), ("order_id", "order_id"), ("store_code", "store_code"),
    ("currency", "currency"),
]  # fmt: skip

HISTORY_DAYS = 545  # about 18 months
DEMO_DIRECTORY = Path(".data") / "demo"  # under BASE_DIR unless absolute

LOCALES = {"FR": "fr_FR", "US": "en_US", "JP": "ja_JP"}
CURRENCIES = {"FR": "EUR", "US": "USD", "JP": "JPY"}
# EUR list price -> local list price: retailers price each market, then round to a price point.
PRICE_FACTORS = {"EUR": 1.0, "USD": 1.08, "JPY": 162.0}

# Mobile ranges checked valid with ``phonenumbers`` (tests/profiles/test_demo.py proves every one parses).
MOBILE_PREFIXES = {
    "FR": ["+3361", "+3362", "+3365", "+3366", "+3367", "+3368", "+3375", "+3376", "+3377", "+3378"],
    "US": ["+1212", "+1646", "+1917", "+1718", "+1347", "+1929", "+1332", "+1415", "+1310", "+1312"],
    "JP": ["+81901", "+81902", "+81903", "+81905", "+81908", "+81801", "+81802", "+81803", "+81804", "+81809"],
}
PHONE_LENGTH = {"FR": 12, "US": 12, "JP": 13}
EMAIL_DOMAINS = ["example.com", "example.net", "example.org"]

NICKNAMES = {
    "Katherine": "Kate", "Catherine": "Cathy", "Elizabeth": "Liz", "Jennifer": "Jen", "Jessica": "Jess",
    "Rebecca": "Becky", "Margaret": "Maggie", "Samantha": "Sam", "Victoria": "Tori", "Alexandra": "Alex",
    "Patricia": "Trish", "Christina": "Tina", "Kimberly": "Kim", "Deborah": "Debbie", "Michael": "Mike",
    "William": "Will", "Robert": "Rob", "Christopher": "Chris", "Matthew": "Matt", "Nicholas": "Nick",
    "Daniel": "Dan", "Jonathan": "Jon", "Benjamin": "Ben", "Anthony": "Tony", "Joseph": "Joe",
    "Marie-Christine": "Marie", "Anne-Sophie": "Sophie", "Jean-Baptiste": "JB", "Marie-Claire": "Claire",
    "Stéphanie": "Steph", "Alexandre": "Alex", "Maximilien": "Max", "Guillaume": "Guillaume", "Frédéric": "Fred",
}  # fmt: skip

BRANDS = ["Atelier Nord", "Maison Lune", "Harbor & Pine", "Sora Studio", "Brume", "Fieldline", "Oak & Ivy", "Kōbō"]

# category -> (size system, EUR price range, product families)
CATEGORIES = {
    "shoes": ("shoes", (89, 260), ["Trail Runner", "City Sneaker", "Chelsea Boot", "Penny Loafer", "Ballet Flat",
                                   "Court Sneaker", "Block Heel Pump", "Desert Boot"]),
    "dresses": ("dresses", (79, 320), ["Wrap Dress", "Slip Dress", "Shirt Dress", "Midi Dress", "Knit Dress",
                                       "Tiered Maxi Dress"]),
    "knitwear": ("tops", (69, 340), ["Cable Knit Sweater", "Merino Crewneck", "Cashmere Cardigan",
                                     "Ribbed Turtleneck", "Mohair Vest"]),
    "outerwear": ("tops", (179, 650), ["Trench Coat", "Wool Overcoat", "Quilted Jacket", "Puffer Jacket",
                                       "Rain Shell", "Field Jacket"]),
    "tops": ("tops", (39, 160), ["Poplin Shirt", "Linen Shirt", "Breton Tee", "Silk Blouse", "Oxford Shirt"]),
    "denim": ("denim", (85, 190), ["Straight Jean", "Slim Jean", "Wide-Leg Jean", "Barrel Jean", "Denim Jacket"]),
    "bags": ("one", (120, 890), ["Tote", "Crossbody Bag", "Bucket Bag", "Backpack", "Weekender", "Clutch"]),
    "accessories": ("one", (25, 180), ["Silk Scarf", "Leather Belt", "Wool Beanie", "Cashmere Scarf",
                                       "Sunglasses", "Card Holder"]),
}  # fmt: skip
LINE_NAMES = ["2", "3", "4", "Classic", "Riviera", "Montmartre", "Hudson", "Kyoto", "Alpine", "Essential", "Studio"]
COLORS = ["black", "ivory", "navy", "camel", "olive", "burgundy", "grey", "sand", "forest green", "sky blue"]
SIZES = {
    ("shoes", "FR"): [f"EU {n}" for n in range(36, 46)],
    ("shoes", "US"): [f"US {n / 2:g}" for n in range(10, 25)],
    ("shoes", "JP"): [f"{n / 2:g} cm" for n in range(44, 57)],
    ("dresses", "FR"): ["34", "36", "38", "40", "42", "44"],
    ("dresses", "US"): ["0", "2", "4", "6", "8", "10", "12", "14"],
    ("dresses", "JP"): ["5", "7", "9", "11", "13", "15"],
    ("tops", "FR"): ["XS", "S", "M", "L", "XL"],
    ("denim", "FR"): [str(n) for n in range(24, 35)],
    ("one", "FR"): [""],
}
SIZES[("tops", "US")] = SIZES[("tops", "JP")] = SIZES[("tops", "FR")]
SIZES[("denim", "US")] = SIZES[("denim", "JP")] = SIZES[("denim", "FR")]
SIZES[("one", "US")] = SIZES[("one", "JP")] = SIZES[("one", "FR")]

TEXTS = {
    "complaint": {
        "FR": ["Colis arrivé avec deux jours de retard.", "La couture a lâché après une semaine.",
               "Remboursement toujours pas reçu.", "Personne pour m'aider en cabine samedi."],
        "US": ["My order arrived two days late.", "The seam came apart after a week.",
               "Still waiting on my refund.", "Nobody was available to help at the fitting rooms."],
        "JP": ["配送が2日遅れました。", "一週間で縫い目がほつれました。", "返金がまだ届いていません。",
               "試着室で誰も対応してくれませんでした。"],
    },
    "service_contact": {
        "FR": ["Suivi de commande", "Échange de taille", "Question sur l'entretien du cachemire", "Carte cadeau"],
        "US": ["Order tracking", "Size exchange", "Cashmere care question", "Gift card balance"],
        "JP": ["注文の配送状況", "サイズ交換", "カシミヤのお手入れ", "ギフトカード残高"],
    },
    "feedback": {
        "FR": ["Accueil chaleureux, merci Léa !", "Très bons conseils de taille.", "Un peu d'attente en caisse."],
        "US": ["Maya was so helpful with sizing!", "Great selection, quick checkout.", "Long line at the register."],
        "JP": ["丁寧な接客でした。", "サイズの相談に乗ってもらえて助かりました。", "レジが少し混んでいました。"],
    },
    "review": {
        "FR": ["Très confortable, taille normalement.", "Belle matière, je recommande."],
        "US": ["Super comfortable, true to size.", "Beautiful fabric, would buy again."],
        "JP": ["履き心地が良く、サイズもぴったりです。", "素材が素敵で、また買いたいです。"],
    },
}  # fmt: skip

SEGMENT_EVENTS = {
    "newsletter_signup": "Email Subscribed", "account_created": "Signed Up", "signed_in": "Signed In",
    "searched": "Products Searched", "product_viewed": "Product Viewed", "wishlisted": "Product Added to Wishlist",
    "cart_added": "Product Added", "checkout_started": "Checkout Started", "purchased": "Order Completed",
    "returned": "Order Refunded", "review_written": "Product Reviewed", "shared": "Product Shared",
}  # fmt: skip


@dataclass(frozen=True)
class Product:
    sku: str
    name: str
    category: str
    size_system: str
    brand: str
    color: str
    eur_price: int

    def price(self, currency: str) -> str:
        local = self.eur_price * PRICE_FACTORS[currency]
        if currency == "JPY":
            return str(int(round(local, -2)))
        return f"{math.ceil(local / 5) * 5 - 0.01 if local > 50 else round(local):.2f}"


@dataclass
class Person:
    number: int
    country: str
    store: tuple
    first_name: str
    last_name: str
    preferred_name: str
    email: str
    phone: str
    loyalty_id: str
    tier: str
    consents: dict[str, bool]
    sizes: dict[str, str]
    favorites: list[str]
    web_account: str
    app_account: str
    web_device: str
    app_device: str
    online: float  # share of sessions on web/app rather than in store
    budget: int = 0
    started_at: datetime | None = None
    ended_at: datetime | None = None
    sources_seen: set = field(default_factory=set)


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in folded.lower() if ch.isalpha())


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --------------------------------------------------------------------------------------------- pools


class NamePools:
    """First and last names per country, drawn once from seeded Faker (never per row)."""

    def __init__(self, seed: int, size: int = 400):
        from faker import Faker

        self.pools: dict[str, tuple[list, list, list]] = {}
        for country, locale in LOCALES.items():
            fake = Faker(locale)
            fake.seed_instance(seed)
            if locale == "ja_JP":
                female = [fake.first_name_female_pair() for _ in range(size)]
                male = [fake.first_name_male_pair() for _ in range(size // 2)]
                last = [fake.last_name_pair() for _ in range(size)]
                pools = ([(k, r) for k, _, r in female], [(k, r) for k, _, r in male], [(k, r) for k, _, r in last])
            else:
                pools = (
                    [(n, n) for n in (fake.first_name_female() for _ in range(size))],
                    [(n, n) for n in (fake.first_name_male() for _ in range(size // 2))],
                    [(n, n) for n in (fake.last_name() for _ in range(size))],
                )
            self.pools[country] = pools

    def draw(self, rng: random.Random, country: str) -> tuple[tuple[str, str], tuple[str, str]]:
        female, male, last = self.pools[country]
        first = rng.choice(female if rng.random() < 0.68 else male)
        return first, rng.choice(last)


def build_catalog(seed: int) -> list[Product]:
    rng = random.Random(f"catalog-{seed}")
    products = []
    for category, (size_system, (low, high), families) in CATEGORIES.items():
        for family in families:
            for line in rng.sample(LINE_NAMES, 2):
                name = f"{family} {line}" if line[0].isdigit() else f"{line} {family}"
                brand = rng.choice(BRANDS)
                price = rng.randrange(low, high)
                for color in rng.sample(COLORS, 3):
                    sku = f"{category[:3].upper()}-{len(products) + 1000:05d}-{color[:3].upper()}"
                    products.append(Product(sku, name, category, size_system, brand, color, price))
    return products


def _phone(rng: random.Random, country: str) -> str:
    prefix = rng.choice(MOBILE_PREFIXES[country])
    rest = PHONE_LENGTH[country] - len(prefix)
    if country == "US":  # NANP: the exchange never starts with 0 or 1
        return f"{prefix}{rng.randint(2, 9)}{rng.randrange(10 ** (rest - 1)):0{rest - 1}d}"
    return f"{prefix}{rng.randrange(10**rest):0{rest}d}"


def _written_phone(rng: random.Random, e164: str, country: str, *, national_ok: bool) -> str:
    """The phone as a person or a till would type it: E.164, spaced international, or national."""
    style = rng.random()
    if style < 0.5:
        return e164
    if country == "FR":
        digits = e164[3:]
        national = "0" + digits
        spaced = " ".join([national[:2]] + [national[i : i + 2] for i in range(2, 10, 2)])
        return spaced if national_ok and style < 0.8 else f"+33 {digits[0]} " + spaced[3:]
    if country == "US":
        d = e164[2:]
        return f"({d[:3]}) {d[3:6]}-{d[6:]}" if national_ok and style < 0.8 else f"+1 {d[:3]}-{d[3:6]}-{d[6:]}"
    d = e164[3:]
    return f"0{d[:2]}-{d[2:6]}-{d[6:]}" if national_ok and style < 0.8 else f"+81 {d[:2]}-{d[2:6]}-{d[6:]}"


def _email(rng: random.Random, first: str, last: str, taken: set[str]) -> str:
    f, la = _ascii(first) or "client", _ascii(last) or "mail"
    pattern = rng.choice(["{f}.{l}", "{f}{l}", "{f0}.{l}", "{f}_{l}", "{l}.{f}", "{f}.{l}{n}", "{f}{n}"])
    local = pattern.format(f=f, l=la, f0=f[0], n=rng.randrange(1, 99))
    domain = rng.choice(EMAIL_DOMAINS)
    email = f"{local}@{domain}"
    while email in taken:
        email = f"{local}{rng.randrange(100, 9999)}@{domain}"
    taken.add(email)
    return email


def _people(rng: random.Random, names: NamePools, count: int, stores: list[tuple]) -> list[Person]:
    people = []
    taken_emails: set[str] = set()
    store_weights = [5 if s[5] == "US" else 4 if s[5] == "FR" else 3 for s in stores]
    for number in range(1, count + 1):
        store = rng.choices(stores, weights=store_weights)[0]
        country = store[5] if store[5] in LOCALES else "US"
        (first, first_ascii), (last, last_ascii) = names.draw(rng, country)
        has_email = rng.random() < 0.95
        has_phone = not has_email or rng.random() < 0.75
        loyalty = rng.random() < 0.6
        tier = rng.choices(["", "silver", "gold", "platinum"], weights=[50, 30, 15, 5])[0] if loyalty else ""
        preferred = NICKNAMES.get(first, "") if rng.random() < 0.45 else ""
        if preferred == first:
            preferred = ""
        cats = list(CATEGORIES)
        people.append(
            Person(
                number=number,
                country=country,
                store=store,
                first_name=first,
                last_name=last,
                preferred_name=preferred,
                email=_email(rng, first_ascii, last_ascii, taken_emails) if has_email else "",
                phone=_phone(rng, country) if has_phone else "",
                loyalty_id=f"L{country}{rng.randrange(10**8):08d}" if loyalty else "",
                tier=tier,
                consents={
                    "recognition": rng.random() < 0.7,
                    "email": rng.random() < 0.85,
                    "sms": rng.random() < 0.4,
                    "surveys": rng.random() < 0.88,
                },
                sizes={system: rng.choice(SIZES[(system, country)]) for system in ("shoes", "dresses", "tops", "denim")}
                | {"one": ""},
                favorites=rng.sample(cats, 3),
                web_account=f"W{number + 700000:07d}",
                app_account=f"A{number + 300000:07d}",
                web_device=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                app_device=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                online=rng.betavariate(2, 2) if has_email else 0.0,
            )
        )
    return people


# --------------------------------------------------------------------------------------------- journeys


class DemoWriter:
    """Builds every customer's journeys, then writes one CSV per source sorted by time."""

    def __init__(self, *, seed: int, stores: list[tuple], associates: dict[str, list[str]], now: datetime):
        self.rng = random.Random(seed)
        self.seed = seed
        self.stores = stores
        self.associates = associates
        self.now = now
        self.catalog = build_catalog(seed)
        self.by_category: dict[str, list[Product]] = {}
        for product in self.catalog:
            self.by_category.setdefault(product.category, []).append(product)
        self.rows: dict[str, list[dict]] = {name: [] for name in SOURCES}
        self.current: list[dict] = []  # the rows of the customer being generated
        self.order_seq = 0

    # -- helpers
    def product_for(self, person: Person) -> Product:
        rng = self.rng
        category = rng.choice(person.favorites) if rng.random() < 0.7 else rng.choice(list(CATEGORIES))
        return rng.choice(self.by_category[category])

    def product_cells(
        self,
        person: Person,
        product: Product,
        *,
        quantity: int | None = None,
        revenue=False,
        store: tuple | None = None,
    ) -> dict:
        # Online she pays in her home currency; in a store, in the store's.
        currency = CURRENCIES.get((store or person.store)[5], "USD")
        price = product.price(currency)
        cells = {
            "product_sku": product.sku,
            "product_name": product.name,
            "category": product.category,
            "brand": product.brand,
            "size": person.sizes[product.size_system],
            "color": product.color,
            "price": price,
            "currency": currency,
        }
        if quantity is not None:
            cells["quantity"] = str(quantity)
        if revenue:
            total = float(price) * (quantity or 1)
            cells["revenue"] = str(int(total)) if currency == "JPY" else f"{total:.2f}"
        return cells

    def at_local(self, day: datetime, store: tuple, hours: tuple[int, int]) -> datetime:
        local = day.astimezone(ZoneInfo(store[4])).replace(
            hour=self.rng.randrange(*hours), minute=self.rng.randrange(60), second=self.rng.randrange(60)
        )
        return local.astimezone(UTC)

    def add(self, source: str, person: Person, at: datetime, moment: str, channel: str, **cells) -> None:
        if at >= self.now:
            return
        row = {"occurred_at": at, "event": moment, "channel": channel} | cells
        row["_person"] = person
        self.rows[source].append(row)
        self.current.append(row)

    def associate_for(self, store: tuple) -> str:
        codes = self.associates.get(store[0]) or []
        return self.rng.choice(codes) if codes else ""

    def new_order(self, prefix: str) -> str:
        self.order_seq += 1
        return f"{prefix}{self.order_seq + 100000:07d}"

    # -- journeys: each adds rows for one session (and its aftermath) starting on `day`
    def browse(self, person: Person, day: datetime, *, buy: bool) -> None:
        rng = self.rng
        source = "app" if rng.random() < 0.45 else "web"
        at = self.at_local(day, person.store, (7, 23))
        step = timedelta(seconds=rng.randrange(20, 140))
        if rng.random() < 0.5:
            self.add(source, person, at, "signed_in", source)
            at += step
        product = self.product_for(person)
        if rng.random() < 0.6:
            query = rng.choice([product.category, f"{product.color} {product.category}", product.name.lower()])
            self.add(source, person, at, "searched", source, properties={"query": query})
            at += step
        viewed = [self.product_for(person) if i else product for i in range(rng.randint(1, 5))]
        for item in viewed:
            self.add(source, person, at, "product_viewed", source, **self.product_cells(person, item))
            at += step
        if rng.random() < 0.2:
            self.add(source, person, at, "wishlisted", source, **self.product_cells(person, viewed[-1]))
            at += step
        if not buy and rng.random() < 0.7:
            return
        basket = viewed[: rng.randint(1, min(2, len(viewed)))]
        for item in basket:
            self.add(source, person, at, "cart_added", source, **self.product_cells(person, item, quantity=1))
            at += step
        if not buy and rng.random() < 0.6:
            return
        self.add(source, person, at, "checkout_started", source)
        at += step
        if not buy:
            return
        order = self.new_order("W" if source == "web" else "A")
        for item in basket:
            cells = self.product_cells(person, item, quantity=1, revenue=True)
            self.add(source, person, at, "purchased", source, order_id=order, **cells)
        self.aftermath(person, at, basket, order, source)

    def aftermath(
        self, person: Person, at: datetime, basket: list[Product], order: str, source: str, store: tuple | None = None
    ) -> None:
        """Returns, reviews and shares in the weeks after a purchase (``store``: where she bought in person)."""
        rng = self.rng
        if rng.random() < 0.09:
            later = at + timedelta(days=rng.randint(3, 25), hours=rng.randint(0, 8))
            item = basket[0]
            if store or rng.random() < 0.4:  # online orders can be returned in her home store too
                where = store or person.store
                self.add("pos", person, self.at_local(later, where, (10, 20)), "returned", "store",
                         order_id=order, store_code=where[0], associate=self.associate_for(where),
                         **self.product_cells(person, item, quantity=1, revenue=True, store=store))  # fmt: skip
            else:
                self.add("web", person, later, "returned", "web", order_id=order,
                         **self.product_cells(person, item, quantity=1, revenue=True))  # fmt: skip
        if rng.random() < 0.12:
            later = at + timedelta(days=rng.randint(5, 30), hours=rng.randint(0, 10))
            channel = "app" if source == "app" else "web"
            rating = rng.choices([5, 4, 3, 2, 1], weights=[50, 30, 10, 6, 4])[0]
            text = rng.choice(TEXTS["review"][person.country])
            self.add(channel, person, later, "review_written", channel,
                     properties={"rating": rating, "text": text}, **self.product_cells(person, basket[0]))  # fmt: skip
        if rng.random() < 0.05:
            channel = rng.choice(["app", "social"])
            self.add("app" if channel == "app" else "web", person, at + timedelta(hours=rng.randint(1, 48)),
                     "shared", channel, **self.product_cells(person, basket[0]))  # fmt: skip

    def store_visit(self, person: Person, day: datetime) -> None:
        rng = self.rng
        store = person.store if rng.random() < 0.9 else rng.choice(self.stores)
        at = self.at_local(day, store, (10, 20))
        if rng.random() < 0.15:  # booked ahead
            booked = at - timedelta(days=rng.randint(1, 10), hours=rng.randint(0, 6))
            how = rng.choice(["web", "app", "call_center"])
            source = {"call_center": "call-center"}.get(how, how)
            self.add(source, person, booked, "appointment_booked", how, store_code=store[0],
                     properties={"appointment_at": _iso(at), "topic": rng.choice(["styling", "fitting", "alterations"])})  # fmt: skip
        self.add("pos", person, at, "store_visit", "kiosk" if rng.random() < 0.2 else "store", store_code=store[0])
        associate = self.associate_for(store)
        at += timedelta(minutes=rng.randint(2, 10))
        if rng.random() < 0.6:
            self.add("pos", person, at, "associate_assisted", "store", store_code=store[0], associate=associate)
        if rng.random() < 0.55:
            at += timedelta(minutes=rng.randint(5, 30))
            order = self.new_order(f"P{store[0]}-")
            basket = [self.product_for(person) for _ in range(rng.choices([1, 2, 3], weights=[60, 30, 10])[0])]
            for item in basket:
                self.add("pos", person, at, "purchased", "store", store_code=store[0], associate=associate,
                         order_id=order, **self.product_cells(person, item, quantity=1, revenue=True, store=store))  # fmt: skip
            self.aftermath(person, at, basket, order, "pos", store)
        if rng.random() < 0.25:
            later = at + timedelta(days=rng.randint(1, 4), hours=rng.randint(0, 6))
            score = rng.choices(range(11), weights=[1, 1, 1, 1, 2, 2, 4, 8, 15, 30, 35])[0]
            comment = rng.choice(TEXTS["feedback"][person.country]) if rng.random() < 0.4 else ""
            channel = "sms" if person.phone and (not person.email or rng.random() < 0.3) else "email"
            self.add("crm", person, later, "feedback_given", channel, store_code=store[0],
                     properties={"score": score, "comment": comment, "survey": "nps"})  # fmt: skip

    def event(self, person: Person, day: datetime) -> None:
        store = person.store
        at = self.at_local(day, store, (18, 21))
        name = self.rng.choice(["Autumn preview", "VIP private sale", "Denim atelier", "Holiday evening"])
        self.add("pos", person, at, "event_attended", "store", store_code=store[0], properties={"event": name})
        if self.rng.random() < 0.4:
            self.store_visit(person, day)

    def service(self, person: Person, day: datetime) -> None:
        rng = self.rng
        at = self.at_local(day, person.store, (9, 19))
        channel = rng.choice(["call_center", "call_center", "chat"] + (["email"] if person.email else []))
        source = "crm" if channel == "email" else "call-center"
        topic = rng.choice(TEXTS["service_contact"][person.country])
        self.add(source, person, at, "service_contact", channel, properties={"topic": topic})
        if rng.random() < 0.2:
            where = rng.choice(["call_center", "chat", "social", "store"])
            source = {"social": "web", "store": "pos", "call_center": "call-center", "chat": "call-center"}[where]
            store_code = person.store[0] if where == "store" else ""
            text = rng.choice(TEXTS["complaint"][person.country])
            self.add(source, person, at + timedelta(minutes=rng.randint(1, 90)), "complaint", where,
                     store_code=store_code, properties={"text": text})  # fmt: skip

    def advocacy(self, person: Person, day: datetime) -> None:
        rng = self.rng
        channel = rng.choice(["web", "app"])
        at = self.at_local(day, person.store, (8, 23))
        self.add(channel, person, at, "referred", channel, properties={"referral_code": f"REF{person.number:06d}"})

    def enroll(self, person: Person) -> None:
        """Her first touchpoint: a sign-up online, a newsletter, or a first visit in store."""
        rng = self.rng
        day = person.started_at
        if person.email and rng.random() < person.online:
            channel = rng.choice(["web", "app"])
            self.add(channel, person, self.at_local(day, person.store, (8, 23)), "account_created", channel)
            if rng.random() < 0.5:
                self.add("crm", person, self.at_local(day, person.store, (8, 23)), "newsletter_signup", "email")
        elif person.email and rng.random() < 0.3:
            self.add("web", person, self.at_local(day, person.store, (8, 23)), "newsletter_signup", "web")
        else:
            self.store_visit(person, day)

    def journeys(self, person: Person) -> None:
        """Her sessions until her budget is spent; the rows a last journey produced past it are dropped."""
        rng = self.rng
        self.current = []
        self.enroll(person)
        span_days = max(1, (person.ended_at - person.started_at).days)
        kinds = ["browse", "buy_online", "store_visit", "service", "event", "advocacy"]
        weights = [
            55 * person.online, 14 * person.online, 24 * (1 - person.online) + 4, 5, 2 if person.tier else 0.3, 1,
        ]  # fmt: skip
        if not person.email:
            weights[5] = 0
        guard = 0
        while len(self.current) < person.budget and guard < person.budget * 4:
            guard += 1
            day = person.started_at + timedelta(days=rng.randrange(span_days + 1))
            kind = rng.choices(kinds, weights=weights)[0]
            if kind in ("browse", "buy_online"):
                self.browse(person, day, buy=kind == "buy_online")
            elif kind == "store_visit":
                self.store_visit(person, day)
            elif kind == "service":
                self.service(person, day)
            elif kind == "event":
                self.event(person, day)
            else:
                self.advocacy(person, day)
        excess = len(self.current) - person.budget
        if excess > 0:
            for row in sorted(self.current, key=lambda row: row["occurred_at"])[-excess:]:
                row["_drop"] = True

    # -- identifiers per row: her first row in each source carries everything that source knows
    def identify(self, source: str, row: dict) -> None:
        rng = self.rng
        person: Person = row.pop("_person")
        first = source not in person.sources_seen
        person.sources_seen.add(source)
        store_code = row.get("store_code", "")
        local_store = bool(store_code) and any(s[0] == store_code and s[5] == person.country for s in self.stores)
        phone = (
            _written_phone(rng, person.phone, person.country, national_ok=local_store and source == "pos")
            if person.phone
            else ""
        )
        if source in ("web", "app"):
            if row["event"] != "newsletter_signup":  # a newsletter needs no account
                row["customer_id"] = person.web_account if source == "web" else person.app_account
            row["anonymous_id"] = person.web_device if source == "web" else person.app_device
            if first or row["event"] == "newsletter_signup" or rng.random() < 0.4:
                row["email"] = person.email
            if first:
                row["phone"] = phone
        elif source == "pos":
            if first:
                row.update(email=person.email, phone=phone, loyalty_id=person.loyalty_id)
            elif person.loyalty_id and rng.random() < 0.8:
                row["loyalty_id"] = person.loyalty_id
            elif person.phone and (not person.email or rng.random() < 0.6):
                row["phone"] = phone
            else:
                row["email"] = person.email
        elif source == "call-center":
            if first:
                row.update(email=person.email, phone=phone)
            elif person.phone and rng.random() < 0.7 or not person.email:
                row["phone"] = phone
            else:
                row["email"] = person.email
        else:  # crm: the channel decides the address
            if first:
                row.update(email=person.email, phone=phone)
            elif row["channel"] == "sms":
                row["phone"] = phone
            else:
                row["email"] = person.email
        if first or rng.random() < 0.3:
            row["first_name"], row["last_name"] = person.first_name, person.last_name
        properties = row.get("properties") or {}
        if first:
            for purpose, granted in person.consents.items():
                row[f"consent_{purpose}"] = "true" if granted else "false"
            if person.preferred_name:
                properties["preferred_name"] = person.preferred_name
            if source == "pos" and person.tier:
                properties["tier"] = person.tier
            properties.setdefault("home_store", person.store[0])
        if row["event"] == "newsletter_signup":
            row["consent_email"] = "true"
        row["properties"] = json.dumps(properties, ensure_ascii=False, sort_keys=True) if properties else ""
        if source in ("web", "app") and row["event"] in SEGMENT_EVENTS and rng.random() < 0.7:
            row["event"] = SEGMENT_EVENTS[row["event"]]

    def write(self, directory: Path) -> dict[str, Path]:
        directory.mkdir(parents=True, exist_ok=True)
        paths = {}
        # Identifiers are assigned in global time order, so "her first row in a source" really is the first.
        ordered = sorted(
            ((row["occurred_at"], index, source, row) for source, rows in self.rows.items()
             for index, row in enumerate(rows) if not row.get("_drop")),
            key=lambda item: (item[0], item[2], item[1]),
        )  # fmt: skip
        per_source: dict[str, list[dict]] = {name: [] for name in SOURCES}
        for _, _, source, row in ordered:
            self.identify(source, row)
            per_source[source].append(row)
        for source, rows in per_source.items():
            for number, row in enumerate(rows, start=1):
                row["event_id"] = f"{source}-{number:08d}"
                row["occurred_at"] = _iso(row["occurred_at"])
            if source in JSONL_SOURCES:
                path = directory / f"{source}.jsonl"
                with path.open("w", encoding="utf-8", newline="") as handle:
                    for row in rows:
                        handle.write(json.dumps(segment_message(row), ensure_ascii=False, sort_keys=True) + "\n")
            else:
                path = directory / f"{source}.csv"
                with path.open("w", encoding="utf-8", newline="") as handle:
                    writer = csv.writer(handle, lineterminator="\n")
                    writer.writerow(HEADER)
                    for row in rows:
                        writer.writerow([row.get(column, "") for column in HEADER])
            paths[source] = path
        return paths


def segment_message(row: dict) -> dict:
    """One channel row as the Segment ``track`` call an app SDK sends (contract 5)."""
    traits = {column: row[column] for column in ("email", "phone", "first_name", "last_name") if row.get(column)}
    for purpose in ("recognition", "email", "sms", "surveys"):
        if row.get(f"consent_{purpose}"):
            traits[f"consent_{purpose}"] = row[f"consent_{purpose}"] == "true"
    properties = json.loads(row["properties"]) if row.get("properties") else {}
    properties["channel"] = row["channel"]
    for column, key in SEGMENT_PROPERTIES:
        if row.get(column):
            properties[key] = row[column]
    for column in ("price", "revenue"):
        if row.get(column):
            properties[column] = float(row[column]) if "." in row[column] else int(row[column])
    if row.get("quantity"):
        properties["quantity"] = int(row["quantity"])
    message = {
        "type": "track",
        "event": row["event"],
        "messageId": row["event_id"],
        "timestamp": row["occurred_at"],
        "properties": properties,
    }
    if row.get("customer_id"):
        message["userId"] = row["customer_id"]
    if row.get("anonymous_id"):
        message["anonymousId"] = row["anonymous_id"]
    if traits:
        message["context"] = {"traits": traits}
    return message


def _budgets(rng: random.Random, people: list[Person], touchpoints: int) -> None:
    """Split the touchpoints over customers: a few very active ones, a long tail (log-normal)."""
    if not people:
        return
    weights = [rng.lognormvariate(0, 0.9) for _ in people]
    total = sum(weights)
    floor = 1 if touchpoints >= len(people) else 0
    spare = touchpoints - floor * len(people)
    shares = [w / total * spare for w in weights]
    budgets = [floor + int(s) for s in shares]
    leftover = touchpoints - sum(budgets)
    for index in sorted(range(len(people)), key=lambda i: shares[i] - int(shares[i]), reverse=True)[:leftover]:
        budgets[index] += 1
    for person, budget in zip(people, budgets, strict=True):
        person.budget = budget


def generate_demo_files(
    directory: Path,
    *,
    customers: int,
    touchpoints: int,
    seed: int,
    stores: list[tuple],
    associates: dict[str, list[str]] | None = None,
    now: datetime | None = None,
) -> dict[str, Path]:
    """Write one channel file per source; same arguments => byte-identical files."""
    paths, _ = _generate(
        directory,
        customers=customers,
        touchpoints=touchpoints,
        seed=seed,
        stores=stores,
        associates=associates,
        now=now,
    )
    return paths


def _generate(
    directory: Path,
    *,
    customers: int,
    touchpoints: int,
    seed: int,
    stores: list[tuple],
    associates: dict[str, list[str]] | None,
    now: datetime | None,
) -> tuple[dict[str, Path], list[Person]]:
    now = (now or datetime.now(UTC)).astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    rng = random.Random(seed)
    names = NamePools(seed)
    people = _people(rng, names, customers, stores)
    _budgets(rng, people, touchpoints)
    earliest = now - timedelta(days=HISTORY_DAYS)
    for person in people:
        if rng.random() < 0.4:  # customers from before the window
            person.started_at = earliest + timedelta(days=rng.randrange(30))
        else:
            person.started_at = earliest + timedelta(days=rng.randrange(HISTORY_DAYS - 7))
        lapsed = rng.random() < 0.15
        remaining = (now - person.started_at).days
        person.ended_at = person.started_at + timedelta(days=rng.randrange(remaining // 2 + 1)) if lapsed else now
    writer = DemoWriter(seed=seed, stores=stores, associates=associates or {}, now=now)
    for person in people:
        writer.journeys(person)
    return writer.write(directory), people


def _crm_attributes_apply(people: list[Person]) -> int:
    """Preferred names, loyalty tiers and home stores, as a CRM or loyalty program knows them.

    Channel files (contract 4) and Segment traits have no field for these, so the demo sets them on the
    profiles the import created, and only where the import left them empty.
    """
    from django.db import transaction

    from profiles.models import Customer, Identifier

    wanted = {}
    for person in people:
        key = ("email", person.email) if person.email else ("phone", person.phone)
        wanted[key] = person
    found = Identifier.objects.filter(
        namespace="", kind__in=["email", "phone"], value__in=[value for _, value in wanted]
    ).values_list("kind", "value", "customer_id")
    owner = {customer_id: wanted[(kind, value)] for kind, value, customer_id in found if (kind, value) in wanted}
    changed = []
    for customer in Customer.objects.filter(pk__in=owner).order_by("pk"):
        person = owner[customer.pk]
        before = (customer.preferred_name, customer.tier, customer.home_store_code)
        customer.preferred_name = customer.preferred_name or person.preferred_name
        customer.tier = customer.tier or person.tier
        customer.home_store_code = customer.home_store_code or person.store[0]
        if (customer.preferred_name, customer.tier, customer.home_store_code) != before:
            changed.append(customer)
    with transaction.atomic():
        Customer.objects.bulk_update(changed, ["preferred_name", "tier", "home_store_code"], batch_size=1000)
    return len(changed)


# --------------------------------------------------------------------------------------------- seed


def seed(
    *,
    customers: int,
    touchpoints: int,
    seed: int,
    stores: list[tuple],
    associates: dict[str, list[str]] | None = None,
    out=None,
    directory: Path | None = None,
    now: datetime | None = None,
) -> dict[str, int]:
    """Generate the demo channel files and import them through ``import_channel_data``."""
    from django.conf import settings
    from django.core.management import call_command, get_commands

    from profiles.models import Customer, Source, Touchpoint

    directory = directory or Path(settings.BASE_DIR) / DEMO_DIRECTORY
    paths, people = _generate(
        directory,
        customers=customers,
        touchpoints=touchpoints,
        seed=seed,
        stores=stores,
        associates=associates,
        now=now,
    )
    say = out.write if out is not None else (lambda text: None)
    if "import_channel_data" not in get_commands():
        say(f"Wrote demo channel files to {directory}; import_channel_data is not available, so nothing was imported.")
        return {"customers": 0, "touchpoints": 0}
    sources = []
    for name, path in paths.items():
        source, _ = Source.objects.get_or_create(name=name, defaults={"kind": SOURCES[name]})
        sources.append(source)
        call_command("import_channel_data", str(path), "--source", name, stdout=out or io.StringIO())
    _crm_attributes_apply(people)
    return {
        "customers": Customer.objects.live().count(),
        "touchpoints": Touchpoint.objects.filter(source__in=sources).count(),
    }


# --------------------------------------------------------------------------------------------- benchmark


def _cell(value: str) -> str:
    if any(ch in value for ch in ',"\n\r'):
        return '"' + value.replace('"', '""') + '"'
    return value


# moment, channel, weight, carries a product, store channel
BENCH_EVENTS = [
    ("product_viewed", "web", 30, True, False), ("product_viewed", "app", 16, True, False),
    ("searched", "web", 8, False, False), ("signed_in", "app", 6, False, False),
    ("cart_added", "web", 8, True, False), ("wishlisted", "app", 3, True, False),
    ("checkout_started", "web", 3, False, False), ("purchased", "web", 4, True, False),
    ("purchased", "store", 5, True, True), ("store_visit", "store", 5, False, True),
    ("associate_assisted", "store", 2, False, True), ("returned", "store", 1, True, True),
    ("service_contact", "call_center", 2, False, False), ("complaint", "chat", 0.5, False, False),
    ("newsletter_signup", "email", 1, False, False), ("feedback_given", "sms", 1, False, False),
    ("review_written", "web", 1, True, False), ("appointment_booked", "app", 0.5, False, True),
    ("event_attended", "store", 0.5, False, True), ("shared", "social", 0.5, True, False),
    ("referred", "web", 0.5, False, False), ("account_created", "web", 1, False, False),
    ("store_visit", "kiosk", 1, False, True),
]  # fmt: skip


def write_channel_csv(
    path: Path | str,
    *,
    rows: int,
    customers: int,
    seed: int,
    reuse_identifiers: bool = True,
    stores: list[tuple] | None = None,
    associates: dict[str, list[str]] | None = None,
    now: datetime | None = None,
) -> dict[str, int]:
    """Stream ``rows`` channel rows for ``customers`` people to ``path`` (contract 4), in time order.

    Memory is bounded by the customer pools, not the rows. With ``reuse_identifiers`` a person shows up
    with her email in one row, her phone in another and both in a third, so the importer must link them;
    without it every row carries both. Phones are written in E.164 or spaced international form, so they
    need no store to tell their country.
    """
    stores = stores or [
        ("PAR01", "Paris Marais", "Paris", "Europe", "Europe/Paris", "FR"),
        ("NYC01", "New York SoHo", "New York", "Americas", "America/New_York", "US"),
        ("TYO01", "Tokyo Omotesando", "Tokyo", "Asia Pacific", "Asia/Tokyo", "JP"),
    ]
    associates = associates or {s[0]: [f"{s[0].lower()}-{n}" for n in range(1, 5)] for s in stores}
    now = (now or datetime.now(UTC)).astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    rng = random.Random(seed)
    names = NamePools(seed, size=600)
    catalog = build_catalog(seed)

    # Per customer: pre-rendered identifier cells for each way she shows up, and her currency.
    taken: set[str] = set()
    variants: list[list[str]] = []
    person_country: list[str] = []
    store_list = [s for s in stores if s[5] in LOCALES] or stores
    for _ in range(customers):
        store = rng.choice(store_list)
        country = store[5] if store[5] in LOCALES else "US"
        (first, first_ascii), (last, last_ascii) = names.draw(rng, country)
        email = _email(rng, first_ascii, last_ascii, taken)
        e164 = _phone(rng, country)
        phone = _written_phone(rng, e164, country, national_ok=False)
        loyalty = f"L{country}{rng.randrange(10**8):08d}" if rng.random() < 0.3 else ""
        tail = f"{_cell(loyalty)},,{_cell(first)},{_cell(last)}"
        both = f"{email},{_cell(phone)},{tail}"
        if reuse_identifiers:
            variants.append([f"{email},,{tail}", f",{_cell(phone)},{tail}", both])
        else:
            variants.append([both])
        person_country.append(country)

    # Per product and currency: the product cells, rendered once.
    # Purchases and returns carry quantity and revenue; views, carts and reviews only the price.
    bought_cells: dict[str, list[str]] = {}
    seen_cells: dict[str, list[str]] = {}
    for country, currency in CURRENCIES.items():
        bought_cells[country], seen_cells[country] = [], []
        for product in catalog:
            size = rng.choice(SIZES[(product.size_system, country)])
            price = product.price(currency)
            described = f"{product.sku},{_cell(product.name)},{product.category},{_cell(product.brand)},{_cell(size)},{product.color}"
            bought_cells[country].append(f"{described},1,{price},{price},{currency}")
            seen_cells[country].append(f"{described},,{price},,{currency}")
    empty_product = ",,,,,,,,,"
    store_by_country = {s[5]: s for s in stores}
    events = [
        (f"{m},{c}", (bought_cells if m in ("purchased", "returned") else seen_cells) if product else None, in_store)
        for m, c, _, product, in_store in BENCH_EVENTS
    ]
    event_weights = list(_accumulate([w for _, _, w, _, _ in BENCH_EVENTS]))
    customer_weights = list(_accumulate([rng.paretovariate(2.5) for _ in range(customers)]))
    variant_weights = [0.4, 0.65, 1.0] if reuse_identifiers else [1.0]

    start = (now - timedelta(days=HISTORY_DAYS)).timestamp()
    step = (now.timestamp() - start) / max(rows, 1)
    day_cache = (-1, "")
    two_digits = [f"{n:02d}" for n in range(60)]
    consent = ",,,,"
    consent_given = "true,true,false,true,"
    batch = 20_000
    written = 0
    with open(path, "w", encoding="utf-8", newline="") as handle:
        handle.write(",".join(HEADER) + "\n")
        while written < rows:
            count = min(batch, rows - written)
            who = rng.choices(range(customers), cum_weights=customer_weights, k=count)
            what = rng.choices(events, cum_weights=event_weights, k=count)
            how = rng.choices(range(len(variant_weights)), cum_weights=variant_weights, k=count)
            dice = [rng.random() for _ in range(count)]
            lines = []
            for offset in range(count):
                number = written + offset
                day, second_of_day = divmod(int(start + number * step), 86400)
                if day != day_cache[0]:  # strftime once a day, not once a row
                    day_cache = (day, datetime.fromtimestamp(day * 86400, UTC).strftime("%Y-%m-%dT"))
                hour, rest = divmod(second_of_day, 3600)
                stamp = f"{day_cache[1]}{two_digits[hour]}:{two_digits[rest // 60]}:{two_digits[rest % 60]}Z"
                person = who[offset]
                event, products, in_store = what[offset]
                country = person_country[person]
                roll = dice[offset]
                if in_store:
                    store = store_by_country.get(country, stores[0])
                    codes = associates.get(store[0]) or [""]
                    place = f"{store[0]},{codes[int(roll * len(codes))]}"
                else:
                    place = ","
                cells = products[country][int(roll * 7919) % len(catalog)] if products else empty_product
                lines.append(
                    f"e{number:08d},{stamp},{event},,"
                    f"{variants[person][how[offset] % len(variants[person])]},{place},"
                    f"{'O' + str(number) if event.startswith(('purchased', 'returned')) else ''},{cells},"
                    f"{consent_given if roll < 0.03 else consent}\n"
                )
            handle.write("".join(lines))
            written += count
    return {"rows": rows, "customers": customers}


def _accumulate(values):
    total = 0.0
    for value in values:
        total += value
        yield total
