from django.urls import path

from apps.dashboards import views

urlpatterns = [
    path("dashboards/me/", views.rep, name="rep"),
    path("dashboards/team/", views.manager, name="manager"),
    path("dashboards/executive/", views.executive, name="executive"),
]
