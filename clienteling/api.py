"""The HTTP APIs: one OpenAPI schema at /api/schema/ (contract 10) for every machine-facing endpoint.

Apps add their routers here: Segment-compatible ingestion under /ingest/v1/ (profiles), arrivals
under /api/v1/ (store floor).
"""

from ninja import NinjaAPI

api = NinjaAPI(
    title="Clienteling API",
    version="1",
    description="Channel ingestion (Segment-compatible) and store arrivals.",
    openapi_url="/api/schema/",
    docs_url=None,  # Swagger UI needs inline scripts, which the CSP forbids; the schema is what clients use.
    urls_namespace="api",
)

from clienteling.arrivals_api import router as arrivals_router  # noqa: E402

api.add_router("api/v1/", arrivals_router)

from profiles.ingest import router as ingest_router  # noqa: E402

api.add_router("ingest/v1/", ingest_router)
