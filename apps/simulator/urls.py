from django.urls import path

from apps.simulator import views

urlpatterns = [
    path("simulator/", views.report, name="report"),
]
