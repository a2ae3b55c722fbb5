"""URLs of the bare base domain (public schema): health and the operator's admin."""

from django.contrib import admin
from django.templatetags.static import static
from django.urls import path
from django.views.generic import RedirectView

from learning_site import views

urlpatterns = [
    path("", views.organisations, name="organisations"),
    path("healthz", views.healthz, name="healthz"),
    path("favicon.ico", RedirectView.as_view(url=static("favicon.svg"), permanent=True)),
    path("admin/", admin.site.urls),
]
