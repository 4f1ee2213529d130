"""A URL configuration for tests/clienteling/test_public_pages.py: one marked and one unmarked view under /f/."""

from django.http import HttpResponse
from django.urls import path

from clienteling.access import public_page


def _stack(request) -> HttpResponse:
    """Says which middleware the request went through."""
    return HttpResponse(f"session={hasattr(request, 'session')} user={hasattr(request, 'user')}")


@public_page
def marked(request):
    return _stack(request)


def unmarked(request):
    return _stack(request)


urlpatterns = [
    path("f/marked/", marked),
    path("f/unmarked/", unmarked),
    path("staff/", marked),  # marked, but outside the public prefixes
]
