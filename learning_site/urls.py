"""URLs of an organisation's host (``<slug>.localhost`` or any Domain row)."""

from importlib import import_module
from importlib.util import find_spec

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from apps.web.routes import by_first_segment
from learning_site import views

# Every app with an API (``apps/<app>/api.py``, mounted at /api/v1/) and, when it has pages,
# ``apps/<app>/urls.py`` (mounted at /; its URL names are the app's, ``approvals:queue``).
APPS = [
    "crm",
    "outcomes",
    "feedback",
    "reviews",
    "insights",
    "approvals",
    "goals",
    "personas",
    "dashboards",
]
PAGE_APPS = [app for app in APPS if find_spec(f"apps.{app}.urls")]

admin.site.site_header = "Learning Loop administration"
admin.site.site_title = "Learning Loop admin"

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("favicon.ico", RedirectView.as_view(url=static("favicon.svg"), permanent=True)),
    path("ping", views.ping, name="ping"),
    path(
        "login/",
        auth_views.LoginView.as_view(
            template_name="registration/login.html", redirect_authenticated_user=True
        ),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    by_first_segment(
        "api/v1/", [route for app in APPS for route in import_module(f"apps.{app}.api").urlpatterns]
    ),
    by_first_segment(
        "", [path("", include((f"apps.{app}.urls", app))) for app in [*PAGE_APPS, "simulator"]]
    ),
]
