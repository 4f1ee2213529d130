"""Builders for small, hand-computable journeys and survey answers."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

import pytest

from feedback.models import FollowUp, Invitation, Response, Survey
from profiles.models import Touchpoint
from tests.factories import CustomerFactory, SourceFactory

_ids = itertools.count(1)


def at(day: str, time: str = "12:00", tz: str = "UTC") -> dt.datetime:
    """An aware datetime from 'YYYY-MM-DD' and 'HH:MM' in ``tz``."""
    import zoneinfo

    naive = dt.datetime.fromisoformat(f"{day}T{time}")
    return naive.replace(tzinfo=zoneinfo.ZoneInfo(tz))


def touch(customer, moment, when, *, channel="web", store="", associate="", revenue=None, order=""):
    source = SourceFactory(name="journeys")
    return Touchpoint.objects.create(
        source=source,
        external_id=f"e{next(_ids)}",
        customer=customer,
        occurred_at=when,
        channel=channel,
        moment=moment,
        store_code=store,
        associate_code=associate,
        revenue=Decimal(revenue) if revenue is not None else None,
        order_id=order,
    )


def answer(
    customer,
    score,
    when,
    *,
    kind="nps",
    store="PAR01",
    moment="purchased",
    associate="",
    comment="",
    themes=(),
    bot=False,
    sent_at=None,
):
    survey = Survey.objects.get_or_create(name=f"test {kind}", kind=kind, defaults={"moments": [moment]})[0]
    n = next(_ids)
    invitation = Invitation.objects.create(
        survey=survey,
        touchpoint_id=10_000_000 + n,
        customer=customer,
        channel="email",
        store_code=store,
        moment=moment,
        touchpoint_channel="store",
        associate_code=associate,
        occurred_at=when - dt.timedelta(hours=3),
        send_after=when - dt.timedelta(hours=1),
        expires_at=when + dt.timedelta(days=7),
        status="answered",
        sent_at=sent_at or when - dt.timedelta(hours=1),
    )
    return Response.objects.create(
        invitation=invitation,
        survey=survey,
        kind=kind,
        score=score,
        comment=comment,
        themes=list(themes),
        customer=customer,
        store_code=store,
        moment=moment,
        channel="store",
        invitation_channel="email",
        associate_code=associate,
        answered_at=when,
        first_answered_at=when,
        bot_suspected=bot,
    )


def follow_up(response, *, due_at, resolved_at=None):
    return FollowUp.objects.create(
        response=response,
        customer=response.customer,
        store_code=response.store_code,
        due_at=due_at,
        status="resolved" if resolved_at else "open",
        resolved_at=resolved_at,
    )


@pytest.fixture
def customer(db):
    return CustomerFactory()


@pytest.fixture
def make_customer(db):
    def make(**kwargs):
        return CustomerFactory(**kwargs)

    return make
