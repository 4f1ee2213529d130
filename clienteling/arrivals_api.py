"""The Arrivals API (DESIGN.md contract 7): ``POST /api/v1/arrivals`` with a store's bearer key.

Every well-formed request for a store the key may use gets the same answer, ``202 {"id": <uuid>,
"status": "accepted"}``, whether she is known and consenting (the id is her arrival's), unknown or
non-consenting (a fresh random id that leads nowhere and is stored nowhere). The API never says whether
anyone is a customer.
"""

from __future__ import annotations

import uuid
from typing import Literal

from django.db import transaction
from django.http import HttpRequest
from ninja import Router, Schema, Status
from ninja.errors import HttpError
from ninja.security import HttpBearer
from pydantic import model_validator

from clienteling import services
from clienteling.models import API_ARRIVAL_SOURCES, Store

IDENTIFIER_FIELDS = ("email", "phone", "loyalty_id", "customer_id")


class ArrivalKeyAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str):
        return services.api_key_check(token)


class ArrivalIn(Schema):
    store: str
    source: Literal[tuple(API_ARRIVAL_SOURCES)]  # type: ignore[valid-type]
    email: str | None = None
    phone: str | None = None
    loyalty_id: str | None = None
    customer_id: str | None = None

    @model_validator(mode="after")
    def one_identifier(self):
        given = [name for name in IDENTIFIER_FIELDS if (getattr(self, name) or "").strip()]
        if len(given) != 1:
            raise ValueError("give exactly one of email, phone, loyalty_id, customer_id")
        return self

    def identifier(self) -> tuple[str, str]:
        for name in IDENTIFIER_FIELDS:
            value = (getattr(self, name) or "").strip()
            if value:
                return name, value[:320]
        raise AssertionError("validated above")


class ArrivalAccepted(Schema):
    id: uuid.UUID
    status: Literal["accepted"] = "accepted"


class Problem(Schema):
    detail: str


router = Router(tags=["arrivals"], auth=ArrivalKeyAuth())


@router.post(
    "arrivals",
    response={202: ArrivalAccepted, 401: Problem, 404: Problem, 422: Problem},
    summary="Report that a customer arrived at a store",
)
def arrival_create(request: HttpRequest, payload: ArrivalIn):
    """A customer arrived: if she is known and agreed to recognition, her card goes to the store's tablets.

    The answer is the same 202 for everyone, known or not. A key made for one store gets 404 for any
    other store (as for a store that does not exist).
    """
    key = request.auth
    store = Store.objects.active().filter(code__iexact=payload.store.strip()).first()
    if store is None or not key.allows(store):
        raise HttpError(404, "No such store for this key.")
    kind, value = payload.identifier()
    public_id = uuid.uuid4()
    with transaction.atomic():
        customer = services.arrival_find_customer(store=store, kind=kind, value=value)
        arrival = services.arrival_record(store=store, customer=customer, source=payload.source, public_id=public_id)
    # Her arrival id, or the same-looking random id for anyone else: the response cannot tell them apart.
    return Status(202, {"id": arrival.public_id if arrival else public_id, "status": "accepted"})
