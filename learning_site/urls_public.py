"""URLs of the bare base domain (public schema): health and the operator's admin."""

from django.contrib import admin
from django.urls import path

from learning_site import views

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("admin/", admin.site.urls),
]
