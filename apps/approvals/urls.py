from django.urls import path

from apps.approvals import views

app_name = "approvals"

urlpatterns = [
    path("approvals/", views.queue, name="queue"),
    path("approvals/history/", views.history, name="history"),
    path("approvals/bulk-approve/", views.bulk_approve, name="bulk_approve"),
    path("approvals/undo/", views.undo, name="undo"),
    path("approvals/delegation/", views.delegation, name="delegation"),
    path("approvals/<int:pk>/", views.detail, name="detail"),
    path("approvals/<int:pk>/decide/", views.decide, name="decide"),
    path("approvals/email/<str:token>/", views.email_decision, name="email_decision"),
]
