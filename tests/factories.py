"""Factories shared by every app's tests."""

from __future__ import annotations

import factory
from django.contrib.auth import get_user_model

from clienteling.models import Associate, Role, Store
from profiles.models import Customer, Identifier, IdentifierKind, Source

PASSWORD = "correct horse battery"


class StoreFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Store
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"S{n:03d}")
    name = factory.LazyAttribute(lambda o: f"Store {o.code}")
    timezone = "Europe/Paris"
    country = "FR"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def persist(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class AssociateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Associate
        skip_postgeneration_save = True

    user = factory.SubFactory(UserFactory)
    role = Role.ASSOCIATE
    display_name = factory.Faker("name")

    @factory.post_generation
    def stores(obj, create, extracted, **kwargs):
        if create and extracted:
            obj.stores.set(extracted)

    @factory.post_generation
    def pin(obj, create, extracted, **kwargs):
        if create and extracted:
            obj.set_pin(extracted)
            obj.save(update_fields=["pin_hash"])


class SourceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Source
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"source-{n}")


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")


class IdentifierFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Identifier

    customer = factory.SubFactory(CustomerFactory)
    kind = IdentifierKind.EMAIL
    value = factory.Sequence(lambda n: f"customer{n}@example.com")
