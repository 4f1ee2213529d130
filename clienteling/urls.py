from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from clienteling import views
from clienteling.api import api

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.StaffLoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("lock/", views.lock, name="lock"),
    path("unlock/", views.unlock, name="unlock"),
    path("lock/now/", views.lock_now, name="lock_now"),
    path("device/", views.device_enroll, name="device_enroll"),
    path("device/forget/", views.device_forget, name="device_forget"),
    path("healthz", views.healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("", include("profiles.urls")),
    path("", include("feedback.urls")),
    path("", api.urls),
]
