"""The app's URLs plus a trivial view: what the answer POST is measured against, on the same server."""

from django.http import HttpResponse
from django.urls import path

from clienteling.urls import urlpatterns as app_urlpatterns


def trivial(request):
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [path("bench/trivial/", trivial), *app_urlpatterns]
