from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from clienteling import floor_views, views
from clienteling.api import api

urlpatterns = [
    # First: the answer POST is the hottest request, and resolving it past every other route cost ~0.07 ms.
    # No other route starts with f/, s/ or feedback/, so the order changes no URL.
    path("", include("feedback.urls")),
    path("", views.home, name="home"),
    path("login/", views.StaffLoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("lock/", views.lock, name="lock"),
    path("unlock/", views.unlock, name="unlock"),
    path("lock/now/", views.lock_now, name="lock_now"),
    path("device/", views.device_enroll, name="device_enroll"),
    path("device/forget/", views.device_forget, name="device_forget"),
    path("healthz", views.healthz, name="healthz"),
    # Store floor: tablets (signed in), kiosk and display (in-store devices, no sign-in, nothing identifying).
    path("floor/<str:code>/", floor_views.floor, name="floor"),
    path("floor/<str:code>/feed/", floor_views.feed, name="floor_feed"),
    path("floor/<str:code>/stream/", floor_views.stream, name="floor_stream"),
    path("floor/<str:code>/start/", floor_views.start, name="floor_start"),
    path("floor/<str:code>/appointments/new/", floor_views.appointment_new, name="floor_appointment_new"),
    path("floor/<str:code>/arrivals/<uuid:public_id>/", floor_views.card, name="floor_card"),
    path("floor/<str:code>/arrivals/<uuid:public_id>/claim/", floor_views.claim, name="floor_claim"),
    path("floor/<str:code>/arrivals/<uuid:public_id>/done/", floor_views.done, name="floor_done"),
    path("floor/<str:code>/arrivals/<uuid:public_id>/dismiss/", floor_views.dismiss, name="floor_dismiss"),
    path("floor/<str:code>/arrivals/<uuid:public_id>/note/", floor_views.note, name="floor_note"),
    path("checkin/<str:code>/", floor_views.checkin, name="checkin"),
    path("checkin/<str:code>/welcome/", floor_views.checkin_welcome, name="checkin_welcome"),
    path("checkin/<str:code>/join/", floor_views.checkin_join, name="checkin_join"),
    path("checkin/<str:code>/thanks/", floor_views.checkin_thanks, name="checkin_thanks"),
    path("display/<str:code>/", floor_views.display, name="display"),
    path("display/<str:code>/tiles/", floor_views.display_tiles, name="display_tiles"),
    path("admin/", admin.site.urls),
    path("", include("profiles.urls")),
    path("", include("insights.urls")),
    path("", api.urls),
]
