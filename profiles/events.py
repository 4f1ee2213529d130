"""One channel row (a CSV line or a Segment message) checked and mapped onto the profiles vocabulary.

The importer calls these once per row, so they are written for speed: header positions are resolved once
per file, normalized identifiers are memoized per job, and a bad row raises ``RowRejected`` with a reason
a data admin can act on ("bad phone: '12'", "unknown event 'Foo'").
"""

from __future__ import annotations

import json
import re
import zoneinfo
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from hashlib import sha1

from profiles.models import Channel, IdentifierKind, Moment
from profiles.normalize import InvalidIdentifier, normalize
from profiles.stores import store_info

# Segment / RudderStack e-commerce v2 event names (and a few common spellings) -> moment.
SEGMENT_EVENTS = {
    "email subscribed": Moment.NEWSLETTER_SIGNUP,
    "newsletter subscribed": Moment.NEWSLETTER_SIGNUP,
    "signed up": Moment.ACCOUNT_CREATED,
    "account created": Moment.ACCOUNT_CREATED,
    "signed in": Moment.SIGNED_IN,
    "products searched": Moment.SEARCHED,
    "product searched": Moment.SEARCHED,
    "product viewed": Moment.PRODUCT_VIEWED,
    "product list viewed": Moment.PRODUCT_VIEWED,
    "product clicked": Moment.PRODUCT_VIEWED,
    "product added to wishlist": Moment.WISHLISTED,
    "product added": Moment.CART_ADDED,
    "cart viewed": Moment.CART_ADDED,
    "checkout started": Moment.CHECKOUT_STARTED,
    "appointment booked": Moment.APPOINTMENT_BOOKED,
    "store visited": Moment.STORE_VISIT,
    "order completed": Moment.PURCHASED,
    "order refunded": Moment.RETURNED,
    "product returned": Moment.RETURNED,
    "product reviewed": Moment.REVIEW_WRITTEN,
    "product shared": Moment.SHARED,
    "cart shared": Moment.SHARED,
    "referral sent": Moment.REFERRED,
}
for _moment in Moment:
    SEGMENT_EVENTS[_moment.value.replace("_", " ")] = _moment

_SPACES = re.compile(r"[\s_\-]+")
CHANNELS = frozenset(Channel.values)  # Django computes .values on every access: keep it out of the row loop
_AMOUNT = re.compile(r"-?\d{1,10}(?:\.\d{1,2})?")
_moment_memo: dict[str, str | None] = {}
_MISSING = object()
_MEMO_LIMIT = 50_000  # distinct values remembered per column and file (by the CSV parser)
CURRENCIES = frozenset(("EUR", "USD", "GBP", "JPY", "CHF", "CAD", "AUD", "CNY", "HKD", "SGD", "SEK", "NOK", "DKK"))


def moment_for(event: str) -> str | None:
    """The moment code for a moment code or a Segment v2 event name (case and spacing do not matter)."""
    try:
        return _moment_memo[event]
    except KeyError:
        pass
    moment = SEGMENT_EVENTS.get(_SPACES.sub(" ", event).strip().lower())
    value = moment.value if moment is not None else None
    if len(_moment_memo) < 10000:
        _moment_memo[event] = value
    return value


class RowRejected(ValueError):
    """This row cannot be imported; the message is the reason kept with its line number."""


# Identifier kinds in priority order: when a row's identifiers disagree, the first kind wins.
IDENTIFIER_PRIORITY = (
    IdentifierKind.CUSTOMER_ID.value,
    IdentifierKind.LOYALTY_ID.value,
    IdentifierKind.EMAIL.value,
    IdentifierKind.PHONE.value,
    IdentifierKind.ANONYMOUS_ID.value,
)
SOURCE_SCOPED = {IdentifierKind.CUSTOMER_ID.value, IdentifierKind.ANONYMOUS_ID.value}
CONSENT_KEYS = ("consent_recognition", "consent_email", "consent_sms", "consent_surveys")
_TRUE = {"true", "1", "yes", "y", "t", "oui"}
_FALSE = {"false", "0", "no", "n", "f", "non"}

# Touchpoint text columns and their database sizes: longer cells are rejected, never cut silently.
TEXT_LIMITS = {
    "event": 100,
    "store_code": 20,
    "associate": 100,
    "order_id": 100,
    "product_sku": 100,
    "product_name": 200,
    "category": 100,
    "brand": 100,
    "size": 30,
    "color": 50,
    "first_name": 100,
    "last_name": 100,
    "postal_code": 20,
}
MAX_EXTERNAL_ID = 200
MAX_PROPERTIES = 32 * 1024
MAX_AMOUNT = Decimal("9999999999.99")

CSV_COLUMNS = (
    "event_id", "occurred_at", "event", "channel", "customer_id", "email", "phone", "loyalty_id", "anonymous_id",
    "first_name", "last_name", "store_code", "associate", "order_id", "product_sku", "product_name", "category",
    "brand", "size", "color", "quantity", "price", "revenue", "currency", "consent_recognition", "consent_email",
    "consent_sms", "consent_surveys", "properties",
)  # fmt: skip
IDENTIFIER_COLUMNS = ("customer_id", "loyalty_id", "email", "phone", "anonymous_id")


@dataclass(slots=True)
class ChannelRow:
    """A checked row: identifiers normalized, values typed, ready for the batch writer."""

    line: int
    external_id: str
    keys: list[tuple[str, str, str]]  # (kind, namespace, value) in priority order
    moment: str = ""  # empty: a profile-only row (identify, alias, page) that writes no touchpoint
    occurred_at: datetime | None = None
    channel: str = ""
    event: str = ""
    store_code: str = ""
    associate: str = ""
    order_id: str = ""
    product_sku: str = ""
    product_name: str = ""
    category: str = ""
    brand: str = ""
    size: str = ""
    color: str = ""
    quantity: int | None = None
    price: str | None = None
    revenue: str | None = None
    currency: str = ""
    properties: str = "{}"
    traits: dict = field(default_factory=dict)  # first_name, last_name, postal_code, birthday_month/day
    consents: dict = field(default_factory=dict)  # purpose -> bool
    # occurred_at as the file wrote it, when PostgreSQL reads that text as the same instant (``copy_time``):
    # the writer COPYs it as is, which costs less Python than formatting the datetime again (~1 us per row).
    occurred_text: str = ""


# The extended calendar form with whole seconds or milliseconds and "Z" or "+HH:MM": 2024-05-01T14:30:00Z,
# 2024-05-01T14:30:00.250+02:00. Python also reads week dates, the basic form and more than six decimals
# (which it truncates where PostgreSQL rounds); those are formatted again.
_COPYABLE_TIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{3})?(?:Z|[+-][0-9]{2}:[0-9]{2})"
)


def copy_time(text: str) -> str:
    """``text`` itself if it is an ISO 8601 time that ``datetime.fromisoformat`` has read (with its offset)
    and that PostgreSQL reads as the same instant, else "" (the caller then formats the datetime)."""
    return text if _COPYABLE_TIME.fullmatch(text) else ""


class RowReader:
    """Per-job state for checking rows: the source, store time zones and memoized identifier normalization."""

    def __init__(self, *, source_name: str, default_channel: str):
        self.source_name = source_name
        self.default_channel = default_channel if default_channel in CHANNELS else Channel.WEB.value
        # Normalized identifiers by raw value: one memo per kind, and per kind and region for phones (the
        # only kind whose normalization reads the region), so a repeated value costs one dict lookup.
        self._normalized: dict[str, dict[str, tuple[str, str, str] | None]] = {}
        self._phones: dict[str, str] = {}  # E.164 by digits, for normalize()
        self._stores: dict[str, tuple[zoneinfo.ZoneInfo, str]] = {}

    # -- shared pieces -------------------------------------------------------------------------
    def store(self, code: str) -> tuple[zoneinfo.ZoneInfo, str]:
        found = self._stores.get(code)
        if found is None:
            info = store_info(code)
            try:
                tz = zoneinfo.ZoneInfo(info.timezone)
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                tz = zoneinfo.ZoneInfo("UTC")
            found = self._stores[code] = (tz, info.country or "US")
        return found

    def identifier(self, kind: str, raw, region: str) -> tuple[str, str, str] | None:
        if raw is None or raw == "":
            return None
        if type(raw) is not str:
            if isinstance(raw, bool) or not isinstance(raw, int | float | str):
                raise RowRejected(f"bad {kind.replace('_', ' ')}: not a text value")
            raw = str(raw)
        memo = self.identifier_memo(kind, region)
        value = memo.get(raw, _MISSING)
        if value is _MISSING:
            try:
                value = normalize(kind, raw, region=region, phones=self._phones)
            except InvalidIdentifier as exc:
                raise RowRejected(f"bad {kind.replace('_', ' ')}: {exc}") from None
            value = memo[raw] = (kind, self.source_name if kind in SOURCE_SCOPED else "", value) if value else None
        return value

    def phones_known(self, prefetch) -> int:
        """Take the numbers a ``phone_prefetch`` helper has checked meanwhile into this job's memo."""
        return prefetch.collect(self._phones)

    def identifier_memo(self, kind: str, region: str) -> dict[str, tuple[str, str, str] | None]:
        """The memo of ``identifier`` for this kind in this region (raw value -> key, None for a placeholder)."""
        name = f"phone:{region}" if kind == "phone" else kind
        memo = self._normalized.get(name)
        if memo is None:
            memo = self._normalized[name] = {}
        return memo

    @staticmethod
    def when(raw: str, tz: zoneinfo.ZoneInfo, *, column: str = "occurred_at") -> datetime:
        text = raw.strip()
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            raise RowRejected(
                f"bad date in {column}: {text[:40]!r} (use ISO 8601, e.g. 2024-05-01T14:30:00Z)"
            ) from None
        if value.tzinfo is None:
            value = value.replace(tzinfo=tz)  # a time without offset is the store's local time
        if not 1900 <= value.year <= 2200:
            raise RowRejected(f"bad date in {column}: {text[:40]!r} is out of range")
        return value

    @staticmethod
    def amount(raw, column: str) -> str | None:
        if raw is None or raw == "":
            return None
        if isinstance(raw, str) and _AMOUNT.fullmatch(raw):
            return raw  # the common case: PostgreSQL parses it as it is
        if isinstance(raw, bool):
            raise RowRejected(f"{column} is not a number: {raw!r}")
        text = str(raw).strip()
        if not text:
            return None
        try:
            value = Decimal(text)
        except InvalidOperation:
            raise RowRejected(f"{column} is not a number: {text[:40]!r}") from None
        if not value.is_finite() or abs(value) > MAX_AMOUNT:
            raise RowRejected(f"{column} is out of range: {text[:40]!r}")
        return str(value.quantize(Decimal("0.01")))

    @staticmethod
    def quantity(raw) -> int | None:
        if raw is None or raw == "":
            return None
        text = str(raw).strip()
        if not text:
            return None
        try:
            value = int(Decimal(text))
        except (InvalidOperation, ValueError):
            raise RowRejected(f"quantity is not a whole number: {text[:40]!r}") from None
        if abs(value) > 1_000_000:
            raise RowRejected(f"quantity is out of range: {text[:40]!r}")
        return value

    @staticmethod
    def consent(raw, column: str) -> bool | None:
        if raw is None:
            return None
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if not text:
            return None
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise RowRejected(f"{column} must be true, false or blank, not {text[:20]!r}")

    @staticmethod
    def text(row: ChannelRow, column: str, raw) -> None:
        if raw is None:
            return
        value = raw.strip() if isinstance(raw, str) else str(raw)
        if len(value) > TEXT_LIMITS[column]:
            raise RowRejected(f"oversized field: {column} is longer than {TEXT_LIMITS[column]} characters")
        setattr(row, column, value)

    def channel(self, raw) -> str:
        if not raw:
            return self.default_channel
        if raw in CHANNELS:
            return raw
        value = str(raw).strip().lower()
        if not value:
            return self.default_channel
        if value not in CHANNELS:
            raise RowRejected(f"unknown channel {value[:30]!r} (use one of {', '.join(Channel.values)})")
        return value

    @staticmethod
    def moment(raw: str) -> str:
        moment = moment_for(raw)
        if moment is None:
            raise RowRejected(f"unknown event {raw.strip()[:60]!r}")
        return moment

    @staticmethod
    def external_id(raw, fallback: str) -> str:
        value = str(raw).strip() if raw is not None else ""
        if not value:
            # No event id: the row's own content is its identity, so re-importing it is still a no-op.
            return "sha1:" + sha1(fallback.encode(), usedforsecurity=False).hexdigest()
        if len(value) > MAX_EXTERNAL_ID:
            raise RowRejected(f"oversized field: event_id is longer than {MAX_EXTERNAL_ID} characters")
        return value

    @staticmethod
    def properties_json(properties: dict) -> str:
        if not properties:
            return "{}"
        text = json.dumps(properties, ensure_ascii=False, separators=(",", ":"), default=str)
        if len(text) > MAX_PROPERTIES:
            raise RowRejected("oversized field: properties are larger than 32 KB")
        return text

    # -- channel CSV -----------------------------------------------------------------------------
    def csv_parser(self, header: list[str]):
        """A function turning one CSV record (list of cells) into a ChannelRow, for this header.

        It runs once per row of files of millions of rows, so the work done per distinct cell value (checks,
        normalization, stripping) is remembered by value for the file; a value that fails a check is never
        remembered, so it fails again with the same reason, in the same order of checks. Repeated values
        also come back as one shared string, which keeps the rows of a big window small.
        """
        names = [name.strip().lower() for name in header]
        index = {name: i for i, name in reversed(list(enumerate(names))) if name}
        extra = [(i, name) for i, name in enumerate(names) if name and name not in CSV_COLUMNS]
        width = len(names)
        ident = [(kind, index[kind]) for kind in IDENTIFIER_COLUMNS if kind in index]
        text_columns = ("store_code", "associate", "order_id", "product_sku", "product_name", "category", "brand")
        text_columns += ("size", "color")
        texts = [
            (position, col, index[col], TEXT_LIMITS[col], {})
            for position, col in enumerate(text_columns)
            if col in index
        ]
        at = index.get
        i_event_id, i_occurred, i_event, i_channel = at("event_id"), at("occurred_at"), at("event"), at("channel")
        i_store, i_props = at("store_code"), at("properties")
        i_qty, i_price, i_revenue, i_currency = at("quantity"), at("price"), at("revenue"), at("currency")
        traits_columns = [(col, index[col], {}) for col in ("first_name", "last_name") if col in index]
        consents = [(col, index[col], col[8:]) for col in CONSENT_KEYS if col in index]
        places: dict[str, tuple] = {}  # store_code cell -> (tz, region, identifier columns with their memos)
        events: dict[str, tuple[str, str]] = {}  # event cell -> (event, moment)
        quantities: dict[str, int | None] = {}
        amounts: dict[str, str | None] = {}  # price and revenue cells (a good amount is good in either column)
        currencies: dict[str, str] = {code: code for code in CURRENCIES}
        channels = {code: code for code in CHANNELS}
        consent_values = {**dict.fromkeys(_TRUE, True), **dict.fromkeys(_FALSE, False)}
        identifier, when, fromisoformat = self.identifier, self.when, datetime.fromisoformat
        blank_texts = [""] * len(text_columns)

        def place(raw_store: str) -> tuple:
            tz, region = self.store(raw_store.strip())
            found = (tz, region, [(kind, i, self.identifier_memo(kind, region)) for kind, i in ident])
            return remember(places, raw_store, found)

        def event_of(raw: str) -> tuple[str, str]:
            event = raw.strip()
            if not event:
                return "", ""
            moment = self.moment(event)
            if len(event) > TEXT_LIMITS["event"]:
                raise RowRejected(f"oversized field: event is longer than {TEXT_LIMITS['event']} characters")
            return remember(events, raw, (event, moment))

        def parse(cells: list[str], line: int) -> ChannelRow:
            if len(cells) != width:
                if len(cells) > width and not any(cells[width:]):
                    cells = cells[:width]  # trailing empty cells (a spreadsheet's extra separators)
                elif len(cells) < width:
                    cells = cells + [""] * (width - len(cells))
                else:
                    raise RowRejected(f"{len(cells)} cells but the header has {width} columns")
            raw_store = cells[i_store] if i_store is not None else ""
            tz, region, identifiers = places.get(raw_store) or place(raw_store)
            keys = []
            for kind, i, memo in identifiers:
                raw = cells[i]
                if raw:
                    key = memo.get(raw, _MISSING)
                    if key is _MISSING:
                        key = identifier(kind, raw, region)
                    if key is not None:
                        keys.append(key)
            if not keys:
                raise RowRejected(
                    "no identifier: the row needs a customer_id, email, phone, loyalty_id or anonymous_id"
                )
            event = moment = channel = occurred_text = ""
            occurred_at = None
            raw = cells[i_event] if i_event is not None else ""
            if raw:
                event, moment = events.get(raw) or event_of(raw)
            if event:
                occurred = cells[i_occurred] if i_occurred is not None else ""
                try:
                    occurred_at = fromisoformat(occurred)  # the common case: no spaces, with its offset
                except ValueError:
                    occurred_at = None
                if occurred_at is None or occurred_at.tzinfo is None or not 1900 <= occurred_at.year <= 2200:
                    if not occurred.strip():
                        raise RowRejected("bad date: occurred_at is empty")
                    occurred_at = when(occurred, tz)
                else:
                    occurred_text = copy_time(occurred)
                raw = cells[i_channel] if i_channel is not None else ""
                channel = channels.get(raw) or self.channel(raw)
            elif i_occurred is not None and cells[i_occurred].strip():
                occurred_at = when(cells[i_occurred], tz)
            values = blank_texts
            for position, col, i, limit, memo in texts:
                value = cells[i]
                if value:
                    text = memo.get(value)
                    if text is None:
                        if len(value) > limit:
                            raise RowRejected(f"oversized field: {col} is longer than {limit} characters")
                        text = remember(memo, value, value.strip())
                    if values is blank_texts:
                        values = blank_texts.copy()
                    values[position] = text
            quantity = price = revenue = None
            if i_qty is not None and (raw := cells[i_qty]):
                quantity = quantities.get(raw, _MISSING)
                if quantity is _MISSING:
                    quantity = remember(quantities, raw, self.quantity(raw))
            if i_price is not None and (raw := cells[i_price]):
                price = amounts.get(raw, _MISSING)
                if price is _MISSING:
                    price = remember(amounts, raw, self.amount(raw, "price"))
            if i_revenue is not None and (raw := cells[i_revenue]):
                revenue = amounts.get(raw, _MISSING)
                if revenue is _MISSING:
                    revenue = remember(amounts, raw, self.amount(raw, "revenue"))
            code = ""
            if i_currency is not None and (raw := cells[i_currency]):
                code = currencies.get(raw)
                if code is None:
                    code = remember(currencies, raw, currency(raw))
            traits = {}
            for col, i, memo in traits_columns:
                raw = cells[i]
                if raw:
                    value = memo.get(raw)
                    if value is None:
                        value = str(raw).strip()
                        if len(value) > TEXT_LIMITS[col]:
                            raise RowRejected(f"oversized field: {col} is longer than {TEXT_LIMITS[col]} characters")
                        remember(memo, raw, value)
                    if value:
                        traits[col] = value
            granted = {}
            for col, i, purpose in consents:
                raw = cells[i]
                if raw:
                    value = consent_values.get(raw)
                    if value is None:
                        value = self.consent(raw, col)
                    if value is not None:
                        granted[purpose] = value
            props = {}
            if i_props is not None and cells[i_props].strip():
                try:
                    props = json.loads(cells[i_props])
                except ValueError:
                    raise RowRejected("properties is not valid JSON") from None
                if not isinstance(props, dict):
                    raise RowRejected("properties must be a JSON object")
            for i, name in extra:
                if cells[i]:
                    props[name] = cells[i]
            properties = self.properties_json(props) if props else "{}"
            event_id = cells[i_event_id].strip() if i_event_id is not None else ""
            if not event_id or len(event_id) > MAX_EXTERNAL_ID:
                event_id = self.external_id(event_id, "\x1f".join(cells))
            return ChannelRow(
                line, event_id, keys, moment, occurred_at, channel, event, *values,
                quantity, price, revenue, code, properties, traits, granted, occurred_text,
            )  # fmt: skip

        return parse

    # -- Segment messages ------------------------------------------------------------------------
    def segment(self, message, line: int) -> ChannelRow:
        """A Segment spec message (identify, track, page, screen, alias) as a ChannelRow."""
        if not isinstance(message, dict):
            raise RowRejected("not a JSON object")
        kind = message.get("type")
        if kind not in {"identify", "track", "page", "screen", "alias"}:
            raise RowRejected(f"unsupported message type {str(kind)[:30]!r} (identify, track, page, alias)")
        traits = message.get("traits") if kind == "identify" else None
        context = message.get("context") if isinstance(message.get("context"), dict) else {}
        if not isinstance(traits, dict):
            traits = context.get("traits") if isinstance(context.get("traits"), dict) else {}
        properties = message.get("properties") if isinstance(message.get("properties"), dict) else {}
        store_code = str(properties.get("store_code") or traits.get("store_code") or "").strip()
        tz, region = self.store(store_code)

        keys = []
        for kind_, raw in (
            ("customer_id", message.get("userId")),
            ("loyalty_id", traits.get("loyalty_id", traits.get("loyaltyId"))),
            ("email", traits.get("email")),
            ("phone", traits.get("phone")),
            ("anonymous_id", message.get("anonymousId")),
        ):
            key = self.identifier(kind_, raw, region)
            if key is not None:
                keys.append(key)
        if kind == "alias":
            # alias links a previous id (usually the anonymous one) to the user id.
            previous = self.identifier("anonymous_id", message.get("previousId"), region)
            if previous is not None and previous not in keys:
                keys.append(previous)
        if not keys:
            raise RowRejected("no identifier: the message needs a userId, anonymousId, or an email/phone trait")

        message_id = message.get("messageId")
        row = ChannelRow(
            line=line,
            external_id=self.external_id(message_id, json.dumps(message, sort_keys=True, default=str)),
            keys=keys,
        )
        timestamp = message.get("timestamp") or message.get("originalTimestamp") or message.get("sentAt")
        if timestamp is not None and not isinstance(timestamp, str):
            raise RowRejected("bad date: timestamp is not a text value")

        product = properties
        products = properties.get("products")
        if isinstance(products, list) and products and isinstance(products[0], dict):
            product = products[0]  # the first line item fills the columns; all of them stay in properties
        if kind == "track" or (kind in {"page", "screen"} and (product.get("sku") or product.get("product_id"))):
            event = message.get("event") if kind == "track" else "Product Viewed"
            if not isinstance(event, str) or not event.strip():
                raise RowRejected("unknown event: track message without an event name")
            row.moment = self.moment(event)
            self.text(row, "event", event)
            if not timestamp:
                raise RowRejected("bad date: the message has no timestamp")
            row.occurred_at = self.when(timestamp, tz, column="timestamp")
            row.channel = self.channel(properties.get("channel") or context.get("channel_name") or "")
            for column, value in (
                ("store_code", store_code),
                ("associate", properties.get("associate")),
                ("order_id", properties.get("order_id") or properties.get("checkout_id")),
                ("product_sku", product.get("sku") or product.get("product_id")),
                ("product_name", product.get("name")),
                ("category", product.get("category")),
                ("brand", product.get("brand")),
                ("size", product.get("size") or product.get("variant")),
                ("color", product.get("color")),
            ):
                if value:
                    self.text(row, column, value)
            row.quantity = self.quantity(product.get("quantity"))
            row.price = self.amount(product.get("price"), "price")
            row.revenue = self.amount(properties.get("revenue", properties.get("total")), "revenue")
            if properties.get("currency"):
                row.currency = currency(properties["currency"])
            row.properties = self.properties_json(properties)
        elif timestamp:
            row.occurred_at = self.when(timestamp, tz, column="timestamp")

        for column, camel in (("first_name", "firstName"), ("last_name", "lastName")):
            value = traits.get(column) or traits.get(camel)
            if value:
                trait_text(row, column, value)
        if not row.traits.get("first_name") and isinstance(traits.get("name"), str) and traits["name"].strip():
            first, _, last = traits["name"].strip().partition(" ")
            trait_text(row, "first_name", first)
            if last and not row.traits.get("last_name"):
                trait_text(row, "last_name", last)
        address = traits.get("address") if isinstance(traits.get("address"), dict) else {}
        postal = address.get("postal_code") or address.get("postalCode") or traits.get("postal_code")
        if postal:
            trait_text(row, "postal_code", postal)
        birthday = traits.get("birthday")
        if isinstance(birthday, str) and birthday.strip():
            try:
                born = datetime.fromisoformat(birthday.strip()[:10])
            except ValueError:
                raise RowRejected(f"bad date in birthday: {birthday[:40]!r}") from None
            row.traits["birthday_month"], row.traits["birthday_day"] = born.month, born.day
        for key in CONSENT_KEYS:
            value = self.consent(traits.get(key), key)
            if value is not None:
                row.consents[key[8:]] = value
        return row


def remember(memo: dict, raw: str, value):
    """``value`` (the checked form of ``raw``), kept in the parser's memo while it has room."""
    if len(memo) < _MEMO_LIMIT:
        memo[raw] = value
    return value


def trait_text(row: ChannelRow, column: str, raw) -> None:
    value = str(raw).strip()
    if len(value) > TEXT_LIMITS[column]:
        raise RowRejected(f"oversized field: {column} is longer than {TEXT_LIMITS[column]} characters")
    if value:
        row.traits[column] = value


def currency(raw) -> str:
    value = str(raw).strip().upper()
    if len(value) != 3 or not value.isalpha():
        raise RowRejected(f"currency must be a 3-letter code, not {value[:20]!r}")
    return value


def utc_now() -> datetime:
    return datetime.now(UTC)
