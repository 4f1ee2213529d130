from __future__ import annotations

import pytest
from django.conf import settings

from clienteling.models import Role
from tests.factories import AssociateFactory, StoreFactory


@pytest.fixture(autouse=True)
def _clean_cache():
    # PIN throttles and axes state live in Redis: every test starts from zero.
    # Not cache.clear(): that is FLUSHDB, and the Celery broker may share the database.
    from clienteling.redis import redis_client

    client = redis_client()
    prefix = settings.CACHES["default"]["KEY_PREFIX"]
    keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
    if keys:
        client.delete(*keys)
    # The feedback pages' per-IP limits are counted in this process's memory.
    from feedback import ratelimit

    ratelimit.forget()
    yield


@pytest.fixture
def store(db):
    return StoreFactory(code="PAR01", name="Paris Marais", timezone="Europe/Paris", country="FR")


@pytest.fixture
def other_store(db):
    return StoreFactory(code="NYC01", name="New York SoHo", timezone="America/New_York", country="US")


@pytest.fixture
def associate(store):
    return AssociateFactory(role=Role.ASSOCIATE, stores=[store], pin="1234", display_name="Hugo Martin")


@pytest.fixture
def manager(store):
    return AssociateFactory(role=Role.MANAGER, stores=[store], pin="4321", display_name="Camille Laurent")


@pytest.fixture
def admin_associate(db):
    return AssociateFactory(role=Role.ADMIN, display_name="Alex Admin", user__is_staff=True, user__is_superuser=True)


@pytest.fixture
def associate_client(client, associate):
    client.force_login(associate.user)
    return client


@pytest.fixture
def manager_client(client, manager):
    client.force_login(manager.user)
    return client
