"""The app's URLs plus /bench/trivial/: the yardstick the greeting card is measured against."""

from django.http import HttpResponse
from django.urls import path

from clienteling.urls import urlpatterns as app_urlpatterns


def trivial(request):
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [path("bench/trivial/", trivial), *app_urlpatterns]
