from django.urls import path

from profiles import import_views, views

app_name = "profiles"
urlpatterns: list = [
    path("customers/", views.search, name="search"),
    path("customers/review/", views.review, name="review"),
    path("customers/review/resolve/", views.review_resolve, name="review_resolve"),
    path("customers/merges/<uuid:merge_id>/undo/", views.merge_undo, name="merge_undo"),
    path("customers/<uuid:public_id>/", views.profile, name="profile"),
    path("customers/<uuid:public_id>/export.json", views.customer_export, name="export"),
    path("customers/<uuid:public_id>/erase/", views.customer_erase, name="erase"),
    path("customers/<uuid:public_id>/notes/", views.note_add, name="note_add"),
    path("customers/<uuid:public_id>/notes/<uuid:note_id>/pin/", views.note_pin, name="note_pin"),
    path("imports/", import_views.imports, name="imports"),
    path("imports/<uuid:public_id>/", import_views.import_detail, name="import_detail"),
    path("imports/<uuid:public_id>/rejected.csv", import_views.import_rejected_csv, name="import_rejected_csv"),
]
