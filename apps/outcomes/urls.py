from apps.outcomes import views
from apps.web.routes import pages

urlpatterns = pages(
    "outcomes/",
    {
        "": (views.outcome_list, "list"),
        "calibration/": views.calibration,
        "<int:pk>/": (views.outcome_detail, "detail"),
    },
)
