from apps.dashboards import views
from apps.web.routes import pages

urlpatterns = pages(
    "dashboards/",
    {"me/": views.rep, "team/": views.manager, "executive/": views.executive},
)
