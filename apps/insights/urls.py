from apps.insights import views
from apps.web.routes import pages

urlpatterns = pages(
    "insights/",
    {
        "": views.inbox,
        "stream/": views.stream,
        "report/": views.report,
        "preferences/": views.preferences,
        "bulk-dismiss/": views.bulk_dismiss,
        "<int:insight_id>/": views.detail,
        "<int:insight_id>/act/": views.act,
        "<int:insight_id>/dismiss/": views.dismiss,
        "<int:insight_id>/undo/": views.reopen,
        "<int:insight_id>/feedback/": views.feedback,
    },
) + pages("accounts/", {"<int:account_id>/": views.account})
