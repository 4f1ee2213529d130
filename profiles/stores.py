"""What profiles needs to know about a store, without importing the store-floor app.

``clienteling`` registers the real lookup when it loads (``ClientelingConfig.ready``); until then,
or for a code no store has, the defaults below apply.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class StoreInfo:
    code: str
    name: str
    timezone: str
    country: str


DEFAULT = StoreInfo(code="", name="", timezone="UTC", country="US")

_lookup: Callable[[str], StoreInfo | None] = lambda code: None  # noqa: E731


def register(lookup: Callable[[str], StoreInfo | None]) -> None:
    global _lookup
    _lookup = lookup


def store_info(code: str) -> StoreInfo:
    return (_lookup(code) if code else None) or DEFAULT
