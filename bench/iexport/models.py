"""The profiles models reduced to what a django-import-export import needs: a customer and her touchpoints.

django-import-export links a row to one parent through one key column, so a customer is keyed by her email
(or her phone when the row has no email): it has no identity resolution, which only makes its work lighter.
The touchpoint keeps the same columns, the (external_id) uniqueness that makes re-imports idempotent, and
the (customer, occurred_at) timeline index, like ``profiles.Touchpoint``.
"""

from django.db import models


class Customer(models.Model):
    key = models.CharField(max_length=320, unique=True)
    email = models.CharField(max_length=320, blank=True)
    phone = models.CharField(max_length=32, blank=True)
    loyalty_id = models.CharField(max_length=100, blank=True)
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)

    def __str__(self) -> str:
        return self.key


class Touchpoint(models.Model):
    external_id = models.CharField(max_length=200, unique=True)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="touchpoints")
    occurred_at = models.DateTimeField()
    channel = models.CharField(max_length=20)
    moment = models.CharField(max_length=100)
    store_code = models.CharField(max_length=20, blank=True)
    associate_code = models.CharField(max_length=100, blank=True)
    order_id = models.CharField(max_length=100, blank=True)
    product_sku = models.CharField(max_length=100, blank=True)
    product_name = models.CharField(max_length=200, blank=True)
    category = models.CharField(max_length=100, blank=True)
    brand = models.CharField(max_length=100, blank=True)
    size = models.CharField(max_length=30, blank=True)
    color = models.CharField(max_length=50, blank=True)
    quantity = models.IntegerField(null=True, blank=True)
    price = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    revenue = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)

    class Meta:
        indexes = [models.Index(fields=["customer", "-occurred_at"], name="bench_touchpoint_timeline")]

    def __str__(self) -> str:
        return self.external_id
