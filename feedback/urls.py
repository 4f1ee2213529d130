from django.urls import path

from feedback import views

app_name = "feedback"
urlpatterns = [
    # Public, for customers (contract 9): no login, no navigation.
    path("f/<str:token>/", views.answer, name="answer"),
    path("f/<str:token>/comment/", views.comment, name="comment"),
    path("f/<str:token>/thanks/", views.thanks, name="thanks"),
    path("f/<str:token>/unsubscribe/", views.unsubscribe, name="unsubscribe"),
    path("f/<str:token>/more/", views.honeypot, name="honeypot"),
    path("s/<str:code>", views.short, name="short"),
    # Managers.
    path("feedback/", views.dashboard, name="dashboard"),
    path("feedback/follow-ups/", views.follow_ups, name="follow_ups"),
    path("feedback/follow-ups/<uuid:public_id>/", views.follow_up_detail, name="follow_up"),
    path("feedback/follow-ups/<uuid:public_id>/contact/", views.follow_up_contact, name="follow_up_contact"),
    path("feedback/follow-ups/<uuid:public_id>/note/", views.follow_up_note, name="follow_up_note"),
    path("feedback/follow-ups/<uuid:public_id>/resolve/", views.follow_up_resolve, name="follow_up_resolve"),
]
