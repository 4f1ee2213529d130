"""django-import-export resources for the benchmark's comparison leg, in bulk mode."""

from import_export import fields, resources, widgets

from bench.iexport.models import Customer, Touchpoint

BATCH_SIZE = 1000


class CustomerResource(resources.ModelResource):
    class Meta:
        model = Customer
        fields = ("key", "email", "phone", "loyalty_id", "first_name", "last_name")
        import_id_fields = ("key",)
        use_bulk = True
        batch_size = BATCH_SIZE
        skip_diff = True
        use_transactions = True


class TouchpointResource(resources.ModelResource):
    customer = fields.Field(attribute="customer", column_name="key", widget=widgets.ForeignKeyWidget(Customer, "key"))
    moment = fields.Field(attribute="moment", column_name="event")
    associate_code = fields.Field(attribute="associate_code", column_name="associate")
    external_id = fields.Field(attribute="external_id", column_name="event_id")
    occurred_at = fields.Field(
        attribute="occurred_at", column_name="occurred_at", widget=widgets.DateTimeWidget(format="%Y-%m-%dT%H:%M:%S%z")
    )

    class Meta:
        model = Touchpoint
        fields = (
            "external_id", "customer", "occurred_at", "channel", "moment", "store_code", "associate_code",
            "order_id", "product_sku", "product_name", "category", "brand", "size", "color", "quantity", "price",
            "revenue", "currency",
        )  # fmt: skip
        # Idempotent on the event id, like the real importer: re-importing the file is a no-op.
        import_id_fields = ("external_id",)
        use_bulk = True
        batch_size = BATCH_SIZE
        skip_diff = True
        use_transactions = True
