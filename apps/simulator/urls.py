from django.urls import path

from apps.simulator import views

app_name = "simulator"

urlpatterns = [
    path("simulator/", views.report, name="report"),
]
