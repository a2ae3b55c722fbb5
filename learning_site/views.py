from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from learning_site.navigation import nav_for


@require_GET
@never_cache
def healthz(request):
    """Liveness and readiness: the database answers."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return JsonResponse({"status": "ok", "database": "ok"})
    except Exception:  # noqa: BLE001 - any failure means not ready
        return JsonResponse({"status": "error", "database": "unreachable"}, status=503)


@require_GET
@never_cache
def ping(request):
    """Liveness without the database: also the floor of the benchmarks (bench/run.py)."""
    return HttpResponse("pong", content_type="text/plain")


@login_required
def home(request):
    """Each role lands on the first page it may use."""
    entries = nav_for(request.user)
    if entries:
        return redirect(entries[0]["url"])
    return render(request, "home.html", {"entries": entries})


@require_GET
def organisations(request):
    """The bare host's front page: in development, a link to each organisation's host (so
    that http://localhost:8000/ is not a dead end); in production, only the operator's
    admin (organisation names are not public)."""
    from django.conf import settings

    from apps.tenancy.models import Domain

    links = []
    if settings.DEBUG:
        port = request.get_port()
        suffix = "" if port in ("80", "443") else f":{port}"
        domains = (
            Domain.objects.filter(is_primary=True)
            .exclude(tenant__schema_name=connection.schema_name)
            .select_related("tenant")
            .order_by("tenant__name")
        )
        links = [
            {"name": d.tenant.name, "url": f"{request.scheme}://{d.domain}{suffix}/"}
            for d in domains
        ]
    return render(request, "public_index.html", {"organisations": links})
