from django.urls import path

from apps.personas import views

urlpatterns = [
    path("personas/", views.clone_list, name="list"),
    path("personas/<str:external_id>/", views.clone_detail, name="detail"),
    path("personas/<str:external_id>/preview/", views.clone_preview, name="preview"),
    path(
        "personas/<str:external_id>/versions/<int:number>/revert/",
        views.clone_revert,
        name="revert",
    ),
]
