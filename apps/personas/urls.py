from apps.personas import views
from apps.web.routes import pages

urlpatterns = pages(
    "personas/",
    {
        "": (views.clone_list, "list"),
        "<str:external_id>/": (views.clone_detail, "detail"),
        "<str:external_id>/preview/": (views.clone_preview, "preview"),
        "<str:external_id>/versions/<int:number>/revert/": (views.clone_revert, "revert"),
    },
)
