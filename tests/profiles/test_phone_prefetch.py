"""The phone helper process of big CSV imports: it only ever saves the importer work, never changes a result."""

from __future__ import annotations

import time

import pytest

from profiles import normalize, phone_prefetch
from profiles.imports import import_file
from profiles.models import Identifier, RejectedRow
from tests.factories import SourceFactory

HEADER = "event_id,occurred_at,event,channel,customer_id,email,phone,store_code,product_name"
LINES = [
    "e1,2024-05-01T10:00:00Z,purchased,store,,,+33 6 74 57 28 91,PAR01,Bag",
    "e2,2024-05-01T10:00:00Z,purchased,store,,,+33-674-572-891,NYC01,Bag",  # the same number again
    'e3,2024-05-01T10:00:00Z,purchased,store,,,+1 212 555 0143,NYC01,"Bag,\nlarge"',  # a quoted newline
    "e4,2024-05-01T10:00:00Z,purchased,store,,,+33 1 23,PAR01,Bag",  # too short: invalid
    "e5,2024-05-01T10:00:00Z,purchased,store,,,06 12 34 56 78,PAR01,Bag",  # national: the region decides
    "e6,2024-05-01T10:00:00Z,purchased,store,,,06 12 34 56 78,NYC01,Bag",  # ... and is invalid in the US
    "e7,2024-05-01T10:00:00Z,purchased,store,,,+1 212 555 0199 ext. 12,NYC01,Bag",  # an extension
    "e8,2024-05-01T10:00:00Z,purchased,store,,,+1 000 000 0000,NYC01,Bag",  # a placeholder: invalid too
    "e9,2024-05-01T10:00:00Z,purchased,store,C9,,,NYC01,Bag",
]


def channel_csv(tmp_path):
    path = tmp_path / "feed.csv"
    path.write_text("\n".join([HEADER, *LINES]) + "\n", encoding="utf-8")
    return path


def finished(prefetch: phone_prefetch.PhonePrefetch) -> dict[str, str]:
    phones: dict[str, str] = {}
    deadline = time.monotonic() + 30
    while not prefetch.done and time.monotonic() < deadline:
        prefetch.collect(phones)
        time.sleep(0.01)
    prefetch.close()
    assert prefetch.done
    return phones


def test_the_helper_sends_the_valid_plain_international_numbers_with_the_importer_s_answer(tmp_path):
    path = channel_csv(tmp_path)
    prefetch = phone_prefetch.start(path, encoding="utf-8", size=1 << 30, delimiter=",", header=HEADER.split(","))

    phones = finished(prefetch)

    # Only spellings whose answer is their digits'; each number once; invalid ones are left to the importer.
    assert phones == {
        "+33674572891": normalize.normalize("phone", "+33 6 74 57 28 91"),
        "+12125550143": normalize.normalize("phone", "+1 212 555 0143"),
    }


@pytest.mark.parametrize(
    ("size", "header", "encoding"),
    [(1 << 20, HEADER, "utf-8"), (1 << 30, HEADER.replace("phone", "mobile"), "utf-8"), (1 << 30, HEADER, "cp1252")],
    ids=["small file", "no phone column", "not UTF-8"],
)
def test_no_helper_where_it_would_not_pay_or_could_not_read_the_file(tmp_path, size, header, encoding):
    assert (
        phone_prefetch.start(tmp_path / "x.csv", encoding=encoding, size=size, delimiter=",", header=header.split(","))
        is None
    )


@pytest.mark.django_db
def test_an_import_with_the_helper_rejects_and_links_exactly_as_one_without(
    tmp_path, store, other_store, monkeypatch, settings
):
    checked_here = []
    real_normalize_phone = normalize.normalize_phone

    def counted(raw, **kwargs):
        checked_here.append(raw.strip())
        return real_normalize_phone(raw, **kwargs)

    real_start = phone_prefetch.start

    def start_and_wait(path, **kwargs):
        prefetch = real_start(path, **{**kwargs, "size": 1 << 30})
        if prefetch is not None:
            prefetch._process.wait(timeout=30)  # all its answers are in before the first row is read
        return prefetch

    monkeypatch.setattr(normalize, "normalize_phone", counted)
    monkeypatch.setattr(phone_prefetch, "start", start_and_wait)
    outcomes = []
    for prefetch_on in (False, True):
        settings.IMPORT_PHONE_PREFETCH = prefetch_on
        checked_here.clear()
        source = SourceFactory(name=f"pos-{prefetch_on}", kind="store")
        job = import_file(source=source, path=channel_csv(tmp_path))
        outcomes.append(
            (
                job.summary_line(),
                sorted(RejectedRow.objects.filter(job=job).values_list("line", "reason")),
                sorted(Identifier.objects.filter(source=source).values_list("kind", "value")),
                sorted(checked_here),
            )
        )
        Identifier.objects.all().delete()

    without, with_helper = outcomes
    assert with_helper[:3] == without[:3]
    assert without[1] == [  # e3 spans lines 4-5
        (6, "bad phone: not a valid phone number for FR: '+33 1 23'"),
        (8, "bad phone: not a valid phone number for US: '06 12 34 56 78'"),
        (10, "no identifier: the row needs a customer_id, email, phone, loyalty_id or anonymous_id"),
    ]
    # Without the helper the importer checks every distinct number; with it, only those it did not send.
    assert without[3] == [
        "+1 212 555 0143",
        "+1 212 555 0199 ext. 12",
        "+33 1 23",
        "+33 6 74 57 28 91",
        "06 12 34 56 78",
        "06 12 34 56 78",
    ]
    assert with_helper[3] == ["+1 212 555 0199 ext. 12", "+33 1 23", "06 12 34 56 78", "06 12 34 56 78"]
