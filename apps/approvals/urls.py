from apps.approvals import views
from apps.web.routes import pages

urlpatterns = pages(
    "approvals/",
    {
        "": views.queue,
        "history/": views.history,
        "bulk-approve/": views.bulk_approve,
        "undo/": views.undo,
        "delegation/": views.delegation,
        "<int:pk>/": views.detail,
        "<int:pk>/decide/": views.decide,
        "email/<str:token>/": views.email_decision,
    },
)
