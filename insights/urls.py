from django.urls import path

from insights import views

app_name = "insights"
urlpatterns = [
    path("insights/", views.index, name="index"),
    path("insights/sentiment/", views.sentiment, name="sentiment"),
    path("insights/customers/", views.customers, name="customers"),
    path("insights/moments/", views.moments, name="moments"),
    path("insights/personas/", views.personas, name="personas"),
    path("insights/customers/list/", views.customer_list, name="customer_list"),
    path("insights/responses/", views.response_list, name="response_list"),
]
