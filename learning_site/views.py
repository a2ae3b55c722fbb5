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
