from django.urls import path

from apps.insights import views

app_name = "insights"

urlpatterns = [
    path("insights/", views.inbox, name="inbox"),
    path("insights/stream/", views.stream, name="stream"),
    path("insights/report/", views.report, name="report"),
    path("insights/preferences/", views.preferences, name="preferences"),
    path("insights/bulk-dismiss/", views.bulk_dismiss, name="bulk_dismiss"),
    path("insights/<int:insight_id>/", views.detail, name="detail"),
    path("insights/<int:insight_id>/act/", views.act, name="act"),
    path("insights/<int:insight_id>/dismiss/", views.dismiss, name="dismiss"),
    path("insights/<int:insight_id>/undo/", views.reopen, name="reopen"),
    path("insights/<int:insight_id>/feedback/", views.feedback, name="feedback"),
    path("accounts/<int:account_id>/", views.account, name="account"),
]
