"""Identifier normalization: the per-job memo of phone numbers gives the answers the full parse gives."""

from __future__ import annotations

import pytest

from profiles.normalize import InvalidIdentifier, normalize

SPELLINGS = ["+33 6 74 57 28 91", "+33674572891", "+33-6-74-57-28-91", " +33 674 572 891 "]


@pytest.mark.parametrize("region", ["US", "FR", "JP"])
def test_every_spelling_of_an_international_number_gets_the_full_parse_answer(region):
    phones: dict[str, str] = {}
    for raw in SPELLINGS:
        assert normalize("phone", raw, region=region, phones=phones) == normalize("phone", raw, region=region)
    assert phones == {"+33674572891": "+33674572891"}  # validated once for the four spellings


def test_numbers_the_memo_cannot_read_alone_still_go_through_the_full_parse():
    phones: dict[str, str] = {}
    # A national number depends on the region, an extension or letters on the parser: none is memoized.
    assert normalize("phone", "06 74 57 28 91", region="FR", phones=phones) == "+33674572891"
    assert normalize("phone", "(212) 555-0134", region="US", phones=phones) == "+12125550134"
    assert normalize("phone", "+1 212 555 0134 ext. 12", region="US", phones=phones) == "+12125550134"
    assert phones == {}


def test_an_invalid_or_placeholder_number_is_never_memoized_as_valid():
    phones: dict[str, str] = {}
    for _ in range(2):
        with pytest.raises(InvalidIdentifier, match="not a"):
            normalize("phone", "+33 1 23", region="FR", phones=phones)
        assert normalize("phone", "+1 000 000 0000", region="US", phones=phones) is None
    assert phones == {}


EMAILS = [
    "ana@example.com", "bo.b+tag@example.com", "x@localhost", "a@[127.0.0.1]", "a@[999.1.1.1]", "a@example",
    "a b@example.com", "@example.com", "a@", "a@-bad-.com", "a@exa_mple.com", '"quoted name"@example.com',
    "a@xn--bcher-kva.example", "a@bücher.example", "a@example.com.", "a@" + "b" * 64 + ".com",
]  # fmt: skip


def test_email_domains_are_judged_once_with_django_s_verdict_every_time():
    from django.core.exceptions import ValidationError
    from django.core.validators import validate_email

    def django_says(value: str) -> bool:
        try:
            validate_email(value)
        except ValidationError:
            return False
        return True

    def ours(value: str) -> bool:
        try:
            normalize("email", value)
        except InvalidIdentifier:
            return False
        return True

    # Twice, and at domains already judged: the remembered verdict is the one Django gives.
    for value in EMAILS + EMAILS + [f"bad user@{e.rpartition('@')[2]}" for e in EMAILS]:
        if value:  # a blank cell is no identifier at all, not a bad one
            assert ours(value) == django_says(value.lower()), value
